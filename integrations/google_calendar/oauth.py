"""Google's OAuth web-server flow: connecting a business's calendar from admin, and revoking it.

The flow (google-auth-oauthlib) is built from settings, so tests and staging can point it at a
fake Google. Each authorization is remembered server-side in the staff member's session under
its `state`: the business, the staff member and the PKCE code verifier. The callback takes that
entry out before anything else (one use), so a replayed, foreign or forged callback finds
nothing and stores nothing.

Tokens pass through this module on their way into the encrypted fields; they are never logged,
never put in an exception message, and the functions that hold them hide their locals from
Django's error reports.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.views.decorators.debug import sensitive_variables
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error
from oauthlib.oauth2.rfc6749.utils import is_secure_transport

from bookings.models import Business
from integrations.calendar_base.oauth_client import OAuthClientSettings
from integrations.calendar_base.signins import PendingSignIns, StateRejected, new_state
from integrations.google_calendar import connections
from integrations.google_calendar.client import SCOPES, CalendarClient, GoogleCalendarError
from integrations.google_calendar.models import GoogleCalendarConnection

logger = logging.getLogger(__name__)

# Both are needed before the button can work; the endpoints default to Google's own.
REQUIRED_SETTINGS = ("GOOGLE_OAUTH_CLIENT_ID", "GOOGLE_OAUTH_CLIENT_SECRET")

__all__ = ["StateRejected"]  # the callback view catches it here

PENDING_SESSION_KEY = "google_calendar_oauth_pending"
SIGN_INS = PendingSignIns(PENDING_SESSION_KEY)

# The words Google's consent screen uses for each permission, so staff recognise the box
# they unticked.
PERMISSION_NAMES = {
    "https://www.googleapis.com/auth/calendar.events": "View and edit events on all your calendars",
    "https://www.googleapis.com/auth/calendar.freebusy": "View your availability in your calendars",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly": (
        "See the list of Google calendars you're subscribed to"
    ),
}

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class ConnectFailed(Exception):
    """Google did not give us a usable connection; the message is for staff, token-free."""


@dataclass(frozen=True)
class PendingAuthorization:
    state: str
    business_id: int
    user_id: int
    code_verifier: str = field(repr=False)
    started_at: float


@dataclass(frozen=True)
class GrantedTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scopes: list[str]


@dataclass(frozen=True)
class RevokeResult:
    ok: bool
    detail: str = ""


# -- Settings ------------------------------------------------------------------------------


CLIENT = OAuthClientSettings(REQUIRED_SETTINGS, "google_calendar:callback")
missing_settings = CLIENT.missing_settings
is_configured = CLIENT.is_configured
redirect_uri = CLIENT.redirect_uri


def http_timeout() -> float:
    return settings.GOOGLE_HTTP_TIMEOUT


def _is_loopback_http(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def allow_loopback_http_in_debug() -> None:
    """oauthlib refuses http:// endpoints unless OAUTHLIB_INSECURE_TRANSPORT is set. A local
    fake Google (`manage.py run_fake_google`) speaks plain http on 127.0.0.1, so under DEBUG,
    and only when every OAuth endpoint is loopback http, we allow it for this process. Nothing
    leaves the machine over such a connection. Production (DEBUG off) never gets here; tests
    set the variable themselves (FakeGoogle.env()), never the settings module."""
    uris = [settings.GOOGLE_OAUTH_AUTH_URI, settings.GOOGLE_OAUTH_TOKEN_URI]
    if settings.DEBUG and all(_is_loopback_http(uri) for uri in uris):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def build_flow(*, code_verifier: str | None = None) -> Flow:
    allow_loopback_http_in_debug()
    client_config = {
        "web": {
            "client_id": settings.GOOGLE_OAUTH_CLIENT_ID,
            "client_secret": settings.GOOGLE_OAUTH_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_OAUTH_AUTH_URI,
            "token_uri": settings.GOOGLE_OAUTH_TOKEN_URI,
            "redirect_uris": [redirect_uri()],
        }
    }
    return Flow.from_client_config(
        client_config,
        scopes=list(SCOPES),
        redirect_uri=redirect_uri(),
        code_verifier=code_verifier,
        # The callback's Flow must reuse the verifier from the start, never invent one.
        autogenerate_code_verifier=code_verifier is None,
    )


# -- Start: the consent URL and the server-side state ---------------------------------------


def start_authorization(*, session: SessionBase, business: Business, user) -> str:
    """Google's consent URL for connecting `business`; remembers the state in `session`.

    Raises ConnectFailed when the endpoints are unusable (plain http outside development)."""
    flow = build_flow()
    state = new_state(business)
    try:
        url, _ = flow.authorization_url(
            state=state,
            access_type="offline",
            prompt="consent",
            include_granted_scopes="true",
        )
    except InsecureTransportError as exc:
        raise ConnectFailed(
            "GOOGLE_OAUTH_AUTH_URI must be an https:// address "
            "(plain http is only allowed for a local fake Google under DEBUG)."
        ) from exc
    SIGN_INS.remember(
        session, state=state, business=business, user=user, code_verifier=flow.code_verifier
    )
    logger.info("Google Calendar connect started for %s by user %s.", business.slug, user.pk)
    return url


def take_pending(*, session: SessionBase, state: str, user) -> PendingAuthorization:
    """The authorization this callback completes, removed from the session (one use).

    Raises StateRejected for a missing, unknown, replayed, expired, foreign or tampered state."""
    return PendingAuthorization(state=state, **SIGN_INS.take(session, state=state, user=user))


# -- Callback: the code exchange ------------------------------------------------------------


def _scope_list(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(scope) for scope in value]


def missing_permissions(scopes: list[str]) -> list[str]:
    """Google's names for the permissions we asked for and did not get."""
    granted = set(scopes)
    return [PERMISSION_NAMES.get(scope, scope) for scope in SCOPES if scope not in granted]


def _unavailable(response: requests.Response) -> requests.Response:
    """Google's 5xx/429 pages are not OAuth error bodies: say "try again", not "refused"."""
    if response.status_code >= 500 or response.status_code == 429:
        raise ConnectFailed(
            f"Google did not answer the sign-in (HTTP {response.status_code}). Please try again."
        )
    return response


@sensitive_variables()
def exchange_code(*, pending: PendingAuthorization, code: str) -> GrantedTokens:
    """Trade the authorization code for tokens, with the verifier kept since the start.

    Raises ConnectFailed with a message for staff (never a token)."""
    flow = build_flow(code_verifier=pending.code_verifier)
    flow.oauth2session.register_compliance_hook("access_token_response", _unavailable)
    try:
        token = flow.fetch_token(code=code, timeout=http_timeout())
    except InsecureTransportError as exc:
        raise ConnectFailed(
            "GOOGLE_OAUTH_TOKEN_URI must be an https:// address "
            "(plain http is only allowed for a local fake Google under DEBUG)."
        ) from exc
    except OAuth2Error as exc:
        # e.g. invalid_grant: an old, used or foreign code, or a verifier that does not match.
        raise ConnectFailed(
            f"Google did not accept the sign-in ({exc.error}). Please start again."
        ) from exc
    except requests.RequestException as exc:
        raise ConnectFailed(
            f"Google did not answer the sign-in ({type(exc).__name__}). Please try again."
        ) from exc
    except Warning as exc:
        # oauthlib raises "Scope has changed" (a Warning carrying the token) whenever Google's
        # granted scopes differ from the requested ones: fewer (a box unticked) or more
        # (include_granted_scopes adds earlier grants). Which it was is decided below.
        token = getattr(exc, "token", None)
        if token is None:
            raise
    expires_at = None
    if token.get("expires_at"):
        expires_at = datetime.fromtimestamp(float(token["expires_at"]), tz=UTC)
    elif token.get("expires_in"):
        expires_at = datetime.now(UTC) + timedelta(seconds=float(token["expires_in"]))
    return GrantedTokens(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        expires_at=expires_at,
        scopes=_scope_list(token.get("scope")) or list(SCOPES),
    )


@sensitive_variables()
def connect_with_code(
    *, business: Business, user, pending: PendingAuthorization, code: str
) -> tuple[GoogleCalendarConnection, str]:
    """The callback's work: exchange, check what Google granted, store, learn the account.

    Returns the connection and a warning for staff ("" when all went well). Raises
    ConnectFailed when nothing was stored."""
    granted = exchange_code(pending=pending, code=code)
    missing = missing_permissions(granted.scopes)
    if missing or not granted.refresh_token:
        # Tokens we will not keep are handed back to Google rather than left alive.
        unused = revoke(granted.refresh_token or granted.access_token)
        if not unused.ok:
            logger.warning("Could not revoke an unused Google grant: %s.", unused.detail)
    if missing:
        listed = "; ".join(f'"{name}"' for name in missing)
        raise ConnectFailed(
            f"Google Calendar was not connected: Google did not grant the permission {listed}. "
            "Connect again and leave every box ticked on Google's consent screen."
        )
    if not granted.refresh_token:
        raise ConnectFailed(
            "Google Calendar was not connected: Google sent no refresh token, so we could not "
            "stay connected. Connect again."
        )
    connection = connections.save_connected(
        business=business,
        user=user,
        account_email="",
        refresh_token=granted.refresh_token,
        access_token=granted.access_token,
        expires_at=granted.expires_at,
        scopes=granted.scopes,
    )
    try:
        # The primary calendar's id is the account's email address.
        email = CalendarClient(connection).primary_calendar_id()
    except GoogleCalendarError as exc:
        # Connected all the same: the tokens are good and the calendar list is retried on the
        # next page. The client already recorded a revoked token; record the rest here.
        if exc.kind != connections.TOKEN_REVOKED:
            connections.record_problem(connection=connection, kind=exc.kind, detail=str(exc))
        return connection, f"Connected, but Google did not tell us the account's email ({exc})."
    connections.save_account_email(connection=connection, account_email=email)
    return connection, ""


# -- Disconnect: revoke at Google, wipe here ------------------------------------------------


@sensitive_variables()
def revoke(token: str | None) -> RevokeResult:
    """Ask Google to revoke `token` (a refresh token revokes the whole grant)."""
    if not token:
        return RevokeResult(ok=True, detail="there was no token to revoke")
    uri = settings.GOOGLE_OAUTH_REVOKE_URI
    allow_loopback_http_in_debug()
    if not is_secure_transport(uri):
        return RevokeResult(ok=False, detail="GOOGLE_OAUTH_REVOKE_URI is not an https:// address")
    try:
        # The token goes in the form body, never the query string (URLs end up in logs).
        response = requests.post(
            uri,
            data={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=http_timeout(),
        )
    except requests.RequestException as exc:
        return RevokeResult(ok=False, detail=f"Google did not answer ({type(exc).__name__})")
    if response.status_code == 200:
        return RevokeResult(ok=True)
    if response.status_code == 400 and _error_code(response) == "invalid_token":
        # Already revoked or expired at Google: nothing is left to revoke.
        return RevokeResult(ok=True, detail="Google had already revoked it")
    return RevokeResult(ok=False, detail=f"Google answered HTTP {response.status_code}")


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


@sensitive_variables()
def disconnect(*, connection: GoogleCalendarConnection) -> RevokeResult:
    """Revoke at Google, then wipe the tokens here whatever Google said: a failed revoke is
    recorded on the connection (staff can remove access in their Google account), but a
    disconnected business must never keep a usable token."""
    if connection.tokens_unreadable:
        result = RevokeResult(
            ok=False,
            detail="The stored tokens can't be read with the current keys, so Google could "
            "not be asked to revoke them",
        )
    else:
        result = revoke(connection.refresh_token or connection.access_token)
    connections.wipe_tokens(connection=connection)
    if not result.ok:
        connections.record_problem(
            connection=connection,
            kind=connections.REVOKE_FAILED,
            detail=(
                f"{result.detail}. The tokens were deleted here anyway; remove the app's access "
                "at https://myaccount.google.com/permissions to be sure."
            ),
        )
    return result
