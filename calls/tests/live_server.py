"""A real Daphne on a free loopback port for end-to-end tests, on its own SQLite file, with
`manage.py run_worker` beside it (texts, calendar events), as `make run` starts them.

The server is a separate process (its own database, migrated and prepared by a snippet run
in its environment), so tests assert through HTTP, the sockets, or that database file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from django.conf import settings

ASGI_APP = "receptionist.asgi:application"
STARTUP_SECONDS = 90
DEMO_TZ = ZoneInfo("America/New_York")  # seed_demo's
# Settings a test run may carry that must not leak into the server's own configuration.
SCRUBBED = ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
SCRUBBED_PREFIXES = ("TWILIO_", "SMS_", "CALL_", "OUTBOX_", "LLM_", "GOOGLE_", "CALENDLY_")
# A server started with DEBUG off must be given every secret (the settings refuse to start
# otherwise): tests that want a production-shaped server spread these into `env`, with their
# own values for what they sign or check. It serves plain http on loopback, so the https-only
# defaults of DEBUG off (redirect, secure cookies, HSTS) are turned off.
PRODUCTION_SHAPED = {
    "DEBUG": "false",
    "SECRET_KEY": "live-server-" + "s3cr3t-" * 8,
    "FERNET_KEYS": "live-server-fernet-key-" + "k3y-" * 8,
    "TWILIO_ACCOUNT_SID": "AC" + "5" * 32,
    "TWILIO_AUTH_TOKEN": "live-server-auth-token-" + "7" * 12,
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
}


@dataclass
class LiveServer:
    url: str
    database: Path
    log: Path
    pid: int = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_daphne(
    workdir: Path, *, prepare: str, env: dict[str, str] | None = None, app: str = ASGI_APP
) -> Iterator[LiveServer]:
    """Migrate/prepare a fresh SQLite file with `prepare` (Python run by `manage.py shell`),
    start Daphne and an outbox worker on it, wait until it serves, and stop both afterwards.

    The server runs with DEBUG on (development secrets) unless `env` says DEBUG=false, in
    which case `env` must bring every secret too (see PRODUCTION_SHAPED)."""
    daphne_bin = Path(sys.executable).parent / "daphne"
    if not daphne_bin.exists():
        pytest.skip(f"Daphne is not installed at {daphne_bin}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = workdir / "server.sqlite3"
    server_env = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith(SCRUBBED_PREFIXES)
    }
    server_env |= {
        "DJANGO_SETTINGS_MODULE": "receptionist.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "PUBLIC_BASE_URL": url,
        "LOG_LEVEL": "INFO",
        **(env or {}),
    }
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", prepare],
        cwd=settings.BASE_DIR,
        env=server_env,
        check=True,
        timeout=STARTUP_SECONDS * 3,  # migrate + prepare: slow on a busy shared machine
    )
    # One server log for both processes (appended, so neither clobbers the other): what
    # staff would read, whichever process did the work (the worker sends texts and emails).
    log_path = workdir / "daphne.log"
    with log_path.open("ab") as log, log_path.open("ab") as worker_log:
        daphne = subprocess.Popen(
            [daphne_bin, "-b", "127.0.0.1", "-p", str(port), app],
            cwd=settings.BASE_DIR,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker"],
            cwd=settings.BASE_DIR,
            env=server_env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(url, daphne, log_path)
        yield LiveServer(url=url, database=database, log=log_path, pid=daphne.pid)
    finally:
        for process in (daphne, worker):
            process.terminate()
        for process in (daphne, worker):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def server_environment(database: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment a server process (Daphne, a worker) runs with on `database`: this
    test run's settings scrubbed, DEBUG on, then `env` (see running_daphne)."""
    server_env = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith(SCRUBBED_PREFIXES)
    }
    return server_env | {
        "DJANGO_SETTINGS_MODULE": "receptionist.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "INFO",
        **env,
    }


def _wait_until_serving(url: str, daphne: subprocess.Popen, log_path: Path) -> None:
    # Generous: on a machine shared by many test runs, Daphne's imports alone can take 30 s.
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if daphne.poll() is not None:
            pytest.fail(f"Daphne exited ({daphne.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(url + "/admin/login/", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or too busy to answer yet
            time.sleep(0.1)
    pytest.fail(
        f"Daphne did not answer within {STARTUP_SECONDS} s:\n{log_path.read_text()[-3000:]}"
    )


def an_open_weekday() -> date:
    """A Monday-Friday (the demo salon is open 9-18) at least two days ahead: well inside the
    60-day horizon and past the hour of notice."""
    day = datetime.now(DEMO_TZ).date() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
