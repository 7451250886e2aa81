"""Running ORM work from async code: the one place that decides which thread it runs on.

- `run_orm(func)`: database work a call waits for. On SQLite it runs on one thread
  (Channels' default, `thread_sensitive=True`): SQLite has one writer at a time anyway, and
  one thread keeps one connection that never waits on itself. On Postgres it runs in a
  thread pool over the connection pool: a single thread would queue every call's network
  round trips behind each other.
- `run_blocking(func)`: work that may wait on the network (e.g. Google's API) and touch the
  database too. Always a pool thread, so a slow remote service never holds up the calls'
  database work on SQLite's one thread.

Both close the thread's stale connections before and after, like
`channels.db.database_sync_to_async`, which they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import connections


def run_orm(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` as a coroutine function on the ORM thread policy above (decorator or wrapper)."""
    return database_sync_to_async(func, thread_sensitive=connections["default"].vendor == "sqlite")


def run_blocking(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` as a coroutine function on a pool thread of its own (decorator or wrapper)."""
    return database_sync_to_async(func, thread_sensitive=False)
