"""Settings, all from the environment (django-environ).

Fail closed: DEBUG is off unless set, and with DEBUG off every secret that has a development
default (SECRET_KEY, FERNET_KEYS, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) must be set or the
process refuses to start. `make run` and the test suite set DEBUG=true; a development machine
then needs nothing else.

The embedded default is SQLite + an in-memory channel layer + one Daphne process. Production
sets DATABASE_URL (Postgres), REDIS_URL (channels-redis), the secrets above, PUBLIC_BASE_URL,
the TLS/proxy settings and the Google credentials. See the README's settings table and
docs/security.md.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Local state of the embedded default (SQLite, collected static, the dev admin password).
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless asked for: `make run` and the test suite turn it on explicitly.
DEBUG = env.bool("DEBUG", default=False)


def _secret(name: str, development_default: str) -> str:
    """A secret from the environment. Under DEBUG a missing one falls back to its development
    default; with DEBUG off it must be set, to something else than that default (a blank value
    counts as missing), or the process refuses to start."""
    value = env.str(name, default="").strip()
    if DEBUG:
        return value or development_default
    if value and value != development_default:
        return value
    raise ImproperlyConfigured(
        f"{name} must be set (to a real, non-blank value) when DEBUG is off: it only has a "
        "development default. See the README's settings table."
    )


SECRET_KEY = _secret("SECRET_KEY", "dev-only-insecure-key-change-me-for-any-deployment")
# While rotating SECRET_KEY: the previous key(s), so sessions and signed values made with them
# stay valid until they expire (docs/security.md).
SECRET_KEY_FALLBACKS = [
    k.strip() for k in env.list("SECRET_KEY_FALLBACKS", default=[]) if k.strip()
]

# First key encrypts, every key decrypts (django-fernet-fields-v2); rotate with
# `manage.py rotate_fernet_keys`. Never derived from SECRET_KEY, so rotating SECRET_KEY
# (sessions, signatures) leaves the stored calendar tokens readable.
FERNET_KEYS = [
    key.strip()
    for key in _secret("FERNET_KEYS", "dev-only-fernet-key-not-for-any-deployment").split(",")
    if key.strip()
]
if not FERNET_KEYS:
    raise ImproperlyConfigured("FERNET_KEYS must be set to one or more comma-separated keys.")

PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
_public_host = urlsplit(PUBLIC_BASE_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", _public_host])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

# --- HTTPS behind the TLS proxy --------------------------------------------------------
# Production terminates TLS at a proxy in front of Daphne (docs/deploy.md, docs/security.md).
# With DEBUG off these default to the safe side; set them to false only for plain-http
# loopback servers (tests, benchmarks).
_SECURE_DEFAULT = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_SECURE_DEFAULT)
# A load balancer's health check talks plain http to Daphne directly.
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[r"^healthz/?$"])
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_SECURE_DEFAULT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_SECURE_DEFAULT)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preload is a deliberate opt-in: anyone may submit a domain that sends it to the browsers'
# lists, and leaving them takes months. Hence off, and its check (W021) silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Only behind a proxy that sets X-Forwarded-Proto itself (and drops a client's own): without
# one, trusting the header would let any client claim https.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- What an HTTP client may send (receptionist/request_limits.py) ------------------------
# Twilio's webhooks and the admin's forms are a few KB; anything larger is refused (413)
# before it is buffered, and a request that takes longer than this to arrive gets a 408.
HTTP_MAX_BODY_BYTES = env.int("HTTP_MAX_BODY_BYTES", default=1024 * 1024)
HTTP_BODY_TIMEOUT_SECONDS = env.float("HTTP_BODY_TIMEOUT_SECONDS", default=30.0)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "bookings",
    "calls",
    "integrations.calendar_base",
    "integrations.google_calendar",
    "integrations.calendly",
    "integrations.microsoft_calendar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "receptionist.urls"
ASGI_APPLICATION = "receptionist.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Django's own SQLite options. IMMEDIATE takes the write lock at BEGIN, so "check for an
    # overlap, then insert" cannot interleave with another writer: SQLite's half of the
    # double-booking guarantee. WAL lets readers go on while one connection writes; a writer
    # that finds the lock taken (e.g. run_worker's) waits up to busy_timeout milliseconds.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
    )
    # A file, not shared-cache memory: concurrency tests need real, separate connections.
    # One per process, so parallel runs don't share it.
    _db.setdefault("TEST", {})["NAME"] = str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")
    # A SQLite connection is a file handle: keep it per thread instead of reopening (and
    # re-running the PRAGMAs) on every ORM hop from the event loop.
    _db["CONN_MAX_AGE"] = None
else:
    # Consumers are long-lived and hop between threads: borrow connections from a pool
    # for each piece of ORM work rather than holding one per thread (Django's psycopg pool
    # requires CONN_MAX_AGE = 0).
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20, "timeout": 10}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels --------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth, i18n, static ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "admin:login"

# --- Integrations ----------------------------------------------------------------------
# Every webhook and ConversationRelay handshake is checked against this token: a guessable
# default would let anyone drive calls, so with DEBUG off both must be set.
TWILIO_ACCOUNT_SID = _secret("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
TWILIO_AUTH_TOKEN = _secret("TWILIO_AUTH_TOKEN", "dev-twilio-auth-token")

# SMS confirmations: "console" (logs, default) or "twilio" (the Messages API).
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# Unset: Twilio's own API. Tests and staging point it at a fake.
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
TWILIO_HTTP_TIMEOUT = env.float("TWILIO_HTTP_TIMEOUT", default=10.0)
# Durable after-booking work (SMS, calendar events) is run by `manage.py run_worker` (`make
# run` starts one). True: each web process also runs an outbox worker thread of its own.
# The one place its default lives.
OUTBOX_RUN_IN_PROCESS = env.bool("OUTBOX_RUN_IN_PROCESS", default=False)

# Staff notifications (bookings.notifications): printed to the console unless EMAIL_URL
# names an SMTP server, e.g. smtp+tls://user:password@smtp.example.com:587 (django-environ).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="receptionist@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The LLM receptionist "keeps falling back": this many of a business's calls in a day.
LLM_FALLBACK_ALERT_CALLS = env.int("LLM_FALLBACK_ALERT_CALLS", default=3)

GOOGLE_OAUTH_CLIENT_ID = env.str("GOOGLE_OAUTH_CLIENT_ID", default="")
GOOGLE_OAUTH_CLIENT_SECRET = env.str("GOOGLE_OAUTH_CLIENT_SECRET", default="")
GOOGLE_OAUTH_AUTH_URI = env.str(
    "GOOGLE_OAUTH_AUTH_URI", default="https://accounts.google.com/o/oauth2/auth"
)
GOOGLE_OAUTH_TOKEN_URI = env.str(
    "GOOGLE_OAUTH_TOKEN_URI", default="https://oauth2.googleapis.com/token"
)
GOOGLE_OAUTH_REVOKE_URI = env.str(
    "GOOGLE_OAUTH_REVOKE_URI", default="https://oauth2.googleapis.com/revoke"
)
GOOGLE_CALENDAR_API_ENDPOINT = env.str(
    "GOOGLE_CALENDAR_API_ENDPOINT", default="https://www.googleapis.com/calendar/v3/"
)
# Every Google HTTP call has a timeout (seconds) and a bounded retry budget for 5xx, 429 and
# rate-limit 403s (the whole call may take up to about timeout * (1 + retries) plus backoff).
GOOGLE_HTTP_TIMEOUT = env.float("GOOGLE_HTTP_TIMEOUT", default=10.0)
GOOGLE_NUM_RETRIES = env.int("GOOGLE_NUM_RETRIES", default=3)
# During a call the caller is waiting: Google gets this long (one retry) before the answer
# falls back to our own bookings.
GOOGLE_IN_CALL_TIMEOUT = env.float("GOOGLE_IN_CALL_TIMEOUT", default=3.0)

# Calendly (integrations/calendly): an OAuth app registered at developer.calendly.com.
CALENDLY_OAUTH_CLIENT_ID = env.str("CALENDLY_OAUTH_CLIENT_ID", default="")
CALENDLY_OAUTH_CLIENT_SECRET = env.str("CALENDLY_OAUTH_CLIENT_SECRET", default="")
CALENDLY_AUTH_BASE_URL = env.str("CALENDLY_AUTH_BASE_URL", default="https://auth.calendly.com")
CALENDLY_API_BASE_URL = env.str("CALENDLY_API_BASE_URL", default="https://api.calendly.com")
# Per request outside calls; during a call the caller is waiting, so Calendly gets less.
CALENDLY_HTTP_TIMEOUT = env.float("CALENDLY_HTTP_TIMEOUT", default=10.0)
CALENDLY_IN_CALL_TIMEOUT = env.float("CALENDLY_IN_CALL_TIMEOUT", default=3.0)
# Outlook / Microsoft 365 (integrations.microsoft_calendar): an app registered in Microsoft
# Entra. The authority's tenant is "common" (work, school and personal accounts),
# "organizations" (work and school only), or one tenant's id.
MICROSOFT_OAUTH_CLIENT_ID = env.str("MICROSOFT_OAUTH_CLIENT_ID", default="")
MICROSOFT_OAUTH_CLIENT_SECRET = env.str("MICROSOFT_OAUTH_CLIENT_SECRET", default="")
MICROSOFT_OAUTH_AUTHORITY = env.str(
    "MICROSOFT_OAUTH_AUTHORITY", default="https://login.microsoftonline.com/common"
)
MICROSOFT_GRAPH_ENDPOINT = env.str(
    "MICROSOFT_GRAPH_ENDPOINT", default="https://graph.microsoft.com/v1.0"
)
# Extra CA certificates (a PEM file) trusted for the sign-in and Graph endpoints: only for a
# local fake Microsoft (msal speaks https only). Empty: the system's CAs.
MICROSOFT_CA_BUNDLE = env.str("MICROSOFT_CA_BUNDLE", default="")
MICROSOFT_HTTP_TIMEOUT = env.float("MICROSOFT_HTTP_TIMEOUT", default=10.0)
MICROSOFT_NUM_RETRIES = env.int("MICROSOFT_NUM_RETRIES", default=3)
MICROSOFT_IN_CALL_TIMEOUT = env.float("MICROSOFT_IN_CALL_TIMEOUT", default=3.0)

# The LLM receptionist (calls/dialogue/llm): any OpenAI-compatible chat-completions server
# (OpenAI, Groq, vLLM, Ollama). A business opts in under its receptionist settings in admin.
LLM_BASE_URL = env.str("LLM_BASE_URL", default="https://api.openai.com/v1")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="gpt-4o-mini")
# Seconds without a byte from the model (connecting, first token, mid-stream) before the
# call is handed to the embedded receptionist; a caller should never wait long in silence.
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=8.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=1)
# A tool (availability, booking) slower than this gets "One moment, let me check." first.
LLM_FILLER_AFTER_SECONDS = env.float("LLM_FILLER_AFTER_SECONDS", default=0.8)

# --- The call loop ----------------------------------------------------------------------
# Limits that end a call politely: a call that runs away costs money and keeps a line busy.
CALL_MAX_SECONDS = env.float("CALL_MAX_SECONDS", default=900.0)
CALL_MAX_TURNS = env.int("CALL_MAX_TURNS", default=60)
# The longest a caller waits for one answer before hearing an apology.
CALL_TURN_TIMEOUT_SECONDS = env.float("CALL_TURN_TIMEOUT_SECONDS", default=20.0)
# Silence after our answer has been spoken before we ask again (three in a row end the call).
CALL_SILENCE_SECONDS = env.float("CALL_SILENCE_SECONDS", default=10.0)
# Keypad digits are collected until '#' or this long without a new digit.
CALL_DTMF_PAUSE_SECONDS = env.float("CALL_DTMF_PAUSE_SECONDS", default=3.0)
# The largest ConversationRelay frame accepted; a bigger one is logged and ignored.
CALL_MAX_FRAME_BYTES = env.int("CALL_MAX_FRAME_BYTES", default=64 * 1024)
# Pin one dialogue engine for every business that names none (empty: the registry's default).
CALL_DIALOGUE_ENGINE = env.str("CALL_DIALOGUE_ENGINE", default="") or None
# A ConversationRelay socket is accepted only this long after Twilio's signed voice webhook
# recorded its call (Twilio opens it within seconds), so an old handshake can't be replayed.
CALL_SOCKET_WINDOW_SECONDS = env.int("CALL_SOCKET_WINDOW_SECONDS", default=300)

# --- Error reports -------------------------------------------------------------------------
# Django's filter masks settings named like secrets (KEY, TOKEN, PASS, ...), but not a
# password inside a URL (REDIS_URL, CHANNEL_LAYERS' hosts, anything://user:pass@host): this
# one masks those too, in settings, request data and traceback variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "receptionist.error_reports.CredentialMaskingFilter"

# --- Logging ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # The Twilio client logs every request with its headers at INFO.
        "twilio.http_client": {"level": "WARNING"},
        # The OAuth libraries log tokens, codes and the client secret at DEBUG: never let
        # LOG_LEVEL=DEBUG turn that on.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
    },
}
