"""Running ORM work from async code: the one place that decides which thread it runs on.

SQLite allows one writer at a time, and a writer that finds the file locked sleeps in steps
of up to 100 ms; so on SQLite every ORM call from the event loop goes through one thread
(Channels' default), which never waits on itself. On Postgres, work from many calls runs in
parallel threads over the connection pool: a single thread would queue every call's network
round trips behind each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import connections


def _serialise_orm_work() -> bool:
    return connections["default"].vendor == "sqlite"


def run_orm(func: Callable[..., Any]) -> Callable[..., Any]:
    """Like `channels.db.database_sync_to_async` (connections cleaned before and after),
    on the thread policy above. Usable as a decorator or a wrapper."""
    return database_sync_to_async(func, thread_sensitive=_serialise_orm_work())
