"""Production's shape end to end: `make run-production` on Postgres + Redis.

The command a deployment runs (honcho starting the Procfile: two Daphne processes and an
outbox worker, DEBUG off) is started on a fresh Postgres database of its own and the test
run's Redis, with Twilio's Messages API faked on loopback. This test plays Twilio for six
callers at once, each call split across the two processes the way a load balancer may route
it: the voice webhook answered by one Daphne, the ConversationRelay socket by the other.
Two of the callers want the same slot. Then it checks what the business would see: one
booking per slot, one confirmation text per booking (sent by the worker), every call
recorded.

It needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): the Postgres + Redis pass of
`make test` has them; elsewhere it skips with a message.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings

from calls.tests.fake_twilio import FakeTwilio
from calls.tests.live_server import DEMO_TZ, SCRUBBED, SCRUBBED_PREFIXES, an_open_weekday
from calls.tests.twilio_caller import TwilioCaller, new_call_sid

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

ACCOUNT_SID = "AC" + "9a0d" * 8
AUTH_TOKEN = "production-shape-token-" + "3" * 10
SALON_NUMBER = "+15555550100"  # seed_demo's
# Loaded machines start Daphne slowly: the processes get this long to answer.
STARTUP_SECONDS = 180
TEXT_WAIT_SECONDS = 30
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
# (name, phone, hour): two callers want 4 PM.
CALLERS = [
    ("Maria", "+15555550201", 10),
    ("Jo", "+15555550202", 11),
    ("Sam", "+15555550203", 14),
    ("Alex", "+15555550204", 15),
    ("Robin", "+15555550205", 16),
    ("Kim", "+15555550206", 16),
]


@dataclass
class Deployment:
    public_url: str
    daphnes: list[str]
    database_url: str
    log: Path
    twilio: FakeTwilio

    def caller(self, via: str) -> TwilioCaller:
        return TwilioCaller(
            public_base_url=self.public_url,
            auth_token=AUTH_TOKEN,
            account_sid=ACCOUNT_SID,
            reach=via,
        )

    def rows(self, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url) as db:
            return db.execute(sql, params).fetchall()


@dataclass
class CallResult:
    phone: str
    hour: int
    answers: list[str] = field(default_factory=list)
    booked: bool = False


def _postgres_and_redis_or_skip() -> dict:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql") or not settings.REDIS_URL:
        pytest.skip(
            "Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): it runs in the "
            "Postgres + Redis pass of `make test` (make test-production)."
        )
    return db


@pytest.fixture(scope="module")
def fresh_database() -> Iterator[str]:
    """A database of its own on the test run's Postgres server, dropped afterwards."""
    import psycopg
    from psycopg import sql

    db = _postgres_and_redis_or_skip()
    name = f"rx_production_shape_{secrets.token_hex(4)}"
    server = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    try:
        yield f"postgres://{credentials}@{host}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _two_free_ports() -> int:
    """A port p with p + 1 also free: honcho gives web.1 p and web.2 p + 1."""
    import socket

    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    pytest.fail("no two consecutive free loopback ports")


@pytest.fixture(scope="module")
def deployment(fresh_database: str, tmp_path_factory) -> Iterator[Deployment]:
    port = _two_free_ports()
    public_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("production") / "honcho.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith(SCRUBBED_PREFIXES)
    }
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio:
        env |= {
            "DATABASE_URL": fresh_database,
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": "production-shape-" + secrets.token_urlsafe(40),
            "FERNET_KEYS": secrets.token_urlsafe(32),
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "PUBLIC_BASE_URL": public_url,
            "SMS_BACKEND": "twilio",
            "TWILIO_API_BASE_URL": twilio.base_url,
            # The worker, not the web processes, sends the texts.
            "OUTBOX_RUN_IN_PROCESS": "false",
            # Plain http on loopback stands in for the TLS proxy.
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "INFO",
        }
        command = ["make", "--no-print-directory", "run-production", "ENV_FILE="]
        command += ["WEB=2", "WORKERS=1", f"PORT={port}"]
        with log_path.open("wb") as log:
            processes = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one below
            )
        daphnes = [public_url, f"http://127.0.0.1:{port + 1}"]
        try:
            _wait_until_serving(daphnes, processes, log_path)
            subprocess.run(
                [sys.executable, "manage.py", "seed_demo"],
                cwd=settings.BASE_DIR,
                env=env | {"DEBUG": "false"},
                check=True,
                timeout=120,
            )
            yield Deployment(
                public_url=public_url,
                daphnes=daphnes,
                database_url=fresh_database,
                log=log_path,
                twilio=twilio,
            )
        finally:
            _stop(processes)


def _wait_until_serving(urls: list[str], processes: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    waiting = list(urls)
    while waiting and time.monotonic() < deadline:
        if processes.poll() is not None:
            pytest.fail(f"run-production exited ({processes.returncode}):\n{log.read_text()}")
        try:
            if requests.get(waiting[0] + "/admin/login/", timeout=2).status_code == 200:
                waiting.pop(0)
                continue
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    if waiting:
        pytest.fail(f"{waiting} did not answer in {STARTUP_SECONDS} s:\n{log.read_text()}")


def _stop(processes: subprocess.Popen) -> None:
    if processes.poll() is None:
        os.killpg(processes.pid, signal.SIGTERM)
    try:
        processes.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(processes.pid, signal.SIGKILL)
        processes.wait()


# -- The callers ------------------------------------------------------------------------------


def _place_call(deployment: Deployment, index: int, day, start_together: threading.Barrier):
    name, phone, hour = CALLERS[index]
    # Alternate which process answers the webhook and which the socket.
    webhook = deployment.caller(via=deployment.daphnes[index % 2])
    socket = deployment.caller(via=deployment.daphnes[(index + 1) % 2])
    when = f"{hour - 12} PM" if hour > 12 else f"{hour} AM"
    month_day = f"{MONTHS[day.month - 1]} {day.day}"
    result = CallResult(phone=phone, hour=hour)
    call_sid = new_call_sid()

    start_together.wait()
    connect = webhook.ring("demo", call_sid=call_sid, from_=phone, to=SALON_NUMBER)
    said = f"Hi, this is {name}, can I get a haircut on {month_day} at {when}?"
    with socket.open_relay(connect.relay.url) as relay:
        relay.setup(call_sid=call_sid, from_=phone, to=SALON_NUMBER)
        for _ in range(6):
            answer = relay.say(said).text
            result.answers.append(answer)
            if "You're all set" in answer:
                result.booked = True
                end = relay.expect_end()
                break
            if "Shall I book it?" in answer or "number you're calling from" in answer:
                said = "yes"
                continue
            break  # not bookable (the slot went to the other caller): hang up
    if result.booked:
        webhook.end_session(connect.action, call_sid=call_sid, handoff_data=end["handoffData"])
    return result


def test_two_daphnes_and_a_worker_book_each_slot_once_and_text_once(deployment: Deployment):
    day = an_open_weekday()
    start_together = threading.Barrier(len(CALLERS))
    with ThreadPoolExecutor(max_workers=len(CALLERS)) as pool:
        results = list(
            pool.map(lambda i: _place_call(deployment, i, day, start_together), range(len(CALLERS)))
        )

    booked = [r for r in results if r.booked]
    # Everyone got a slot except one of the two 4 PM callers.
    assert sorted(r.hour for r in booked) == [10, 11, 14, 15, 16], [r.answers for r in results]
    loser = next(r for r in results if not r.booked)
    # The loser is told 4 PM is gone and offered others. Which words depends on where the race
    # was lost: at the check ("already booked", the winner had committed) or at the write
    # ("just taken", both had seen it free); both are right, and nothing was booked.
    last = loser.answers[-1]
    assert loser.hour == 16 and ("just taken" in last or "4 PM is already booked" in last), last
    assert "I can do" in last, loser.answers

    # One booking per slot, each the caller's own.
    rows = deployment.rows(
        "SELECT customer_phone, start FROM bookings_booking WHERE status = 'confirmed'"
    )
    assert len(rows) == len(booked)
    starts = {phone: start.astimezone(DEMO_TZ) for phone, start in rows}
    assert starts == {
        r.phone: datetime(day.year, day.month, day.day, r.hour, tzinfo=DEMO_TZ).astimezone(UTC)
        for r in booked
    }

    # One text per booking, to its caller, sent by the worker.
    texts = _texts_after_waiting(deployment.twilio, len(booked))
    assert sorted(t["to"] for t in texts) == sorted(r.phone for r in booked)
    assert all(t["from"] == SALON_NUMBER for t in texts)
    assert all(request.authorized for request in deployment.twilio.requests)

    # Every call is recorded, and both processes took part.
    outcomes = deployment.rows("SELECT outcome, count(*) FROM calls_call GROUP BY outcome")
    assert dict(outcomes).get("booked") == len(booked)
    assert sum(count for _, count in outcomes) == len(CALLERS)
    log = deployment.log.read_text()
    for process in ("web.1", "web.2"):
        assert any(
            line.startswith(process) or f" {process} " in line
            for line in log.splitlines()
            if "WSCONNECT " in line and "/ws/voice/demo/" in line
        ), f"{process} took no call:\n{log[-3000:]}"
    assert AUTH_TOKEN not in log


def _texts_after_waiting(twilio: FakeTwilio, count: int) -> list[dict]:
    deadline = time.monotonic() + TEXT_WAIT_SECONDS
    while len(twilio.messages) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # a duplicate would come from the worker's next poll
    return list(twilio.messages)
