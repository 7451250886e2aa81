"""Suite-wide setup: which database/channel layer this run uses, and whether it answers.

`make test` runs the suite on the embedded default (SQLite, in-memory layer) and again on
Postgres + Redis. When those servers don't answer, that second run skips with a message;
under CI=true it fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unreachable_services() -> list[str]:
    from django.conf import settings

    problems = []
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        import psycopg

        try:
            psycopg.connect(
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                dbname="postgres",
                connect_timeout=3,
            ).close()
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} ({exc})")
    if settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis at {settings.REDIS_URL} ({exc})")
    return problems


def pytest_configure(config: pytest.Config) -> None:
    problems = _unreachable_services()
    if not problems:
        return
    message = "Not reachable: " + "; ".join(problems)
    if _required():
        pytest.exit(message + " -- required under CI=true.", returncode=1)
    pytest.exit(message + " -- skipping this run (set CI=true to make it fail).", returncode=0)


@pytest.fixture
def in_process_outbox(settings):
    """OUTBOX_RUN_IN_PROCESS, as a web process has it: a worker thread woken by each commit
    that queues work. Stopped (after the task in hand) before the test's database goes."""
    from bookings import outbox

    settings.OUTBOX_RUN_IN_PROCESS = True
    worker, thread = outbox.start_in_process(interval=0.2)
    yield worker
    worker.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.fixture(autouse=True)
def _return_channels_connections():
    """Channels' test communicators switch off `channels.db`'s connection closing while
    they wait (channels.testing.application), so the connection its auth middleware opens
    to look up the session stays checked out on asgiref's single sync thread. Return it
    after each test, on that thread, so a pooled (Postgres) run never runs its pool dry.
    Our own ORM work returns its connections itself (bookings/orm.py)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup, django_db_blocker):
    """Postgres runs use a connection pool; close it so the test database can be dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if hasattr(connection, "close_pool"):
                connection.close_pool()


def pytest_unconfigure(config: pytest.Config) -> None:
    """SQLite runs: the test database file is dropped with the run, but connections other
    threads still hold leave its WAL files behind; remove this run's."""
    from django.conf import settings

    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if not test_name or settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    for suffix in ("-wal", "-shm"):
        leftover = Path(f"{test_name}{suffix}")
        if leftover.exists() and not Path(test_name).exists():
            leftover.unlink()
