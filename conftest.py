"""Suite-wide setup: which database/channel layer this run uses, and whether it answers.

`make test` runs the suite on the embedded default (SQLite, in-memory layer) and again on
Postgres + Redis. When those servers don't answer, that second run skips with a message;
under CI=true it fails instead.
"""

from __future__ import annotations

import os

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
