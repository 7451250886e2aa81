"""Run the settings module (or manage.py) in a subprocess with exactly the environment given:
how the product behaves when it starts is only testable in a fresh process."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def readme_production_env() -> dict[str, str]:
    """The README's production environment (the ```env block under "### Production"), its
    `<...>` placeholders filled with random values: what a deployment following it runs."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    block = readme.split("### Production", 1)[1].split("```env\n", 1)[1].split("```", 1)[0]
    env = {}
    for line in block.splitlines():
        name, _, value = line.partition("=")
        env[name.strip()] = re.sub(r"<[^>]*>", lambda _: secrets.token_urlsafe(40), value)
    return env


PRODUCTION_ENV = readme_production_env()

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
