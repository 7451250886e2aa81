"""Run the settings module (or manage.py) in a subprocess with exactly the environment given:
how the product behaves when it starts is only testable in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

# The README's production settings (its "Production" table), with made-up values.
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-like-" + "Zq7!x9Lr#2vB" * 5,
    "FERNET_KEYS": "prod-like-fernet-" + "k3y" * 10,
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "prod-like-auth-token-" + "8" * 12,
    "PUBLIC_BASE_URL": "https://reception.example.com",
    "DATABASE_URL": "postgres://receptionist:db-pa55word@127.0.0.1:5432/receptionist",
    "REDIS_URL": "redis://:redis-pa55word@127.0.0.1:6379/0",
    # Behind the TLS proxy (docs/deploy.md): it sets X-Forwarded-Proto.
    "SECURE_PROXY_SSL_HEADER": "true",
}

# Settings an outer run may carry (the Postgres pass, a developer's shell) that must not leak
# into a process whose environment a test controls.
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def controlled_env(env: dict[str, str | None]) -> dict[str, str]:
    """`env` and nothing else of ours. The secrets are blanked rather than left out, so a
    developer's .env file (read without overwriting) cannot fill them in; a None in `env`
    leaves a variable really unset."""
    base = {key: os.environ[key] for key in _KEPT if key in os.environ}
    blanks = dict.fromkeys(
        ("SECRET_KEY", "FERNET_KEYS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"), ""
    )
    merged = {**base, **blanks, "DJANGO_SETTINGS_MODULE": "receptionist.settings", **env}
    return {key: value for key, value in merged.items() if value is not None}


def run_python(
    code: str, env: dict[str, str], *, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=controlled_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=controlled_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
