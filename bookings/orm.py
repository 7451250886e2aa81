"""Running ORM work from async code: the one place that decides which thread it runs on.

- `run_orm(func)`: database work a call waits for. On SQLite it runs on one thread
  (`thread_sensitive=True`): SQLite has one writer at a time anyway, and one thread keeps one
  connection that never waits on itself. On Postgres it runs in a thread pool over the
  connection pool: a single thread would queue every call's network round trips behind each
  other.
- `run_blocking(func)`: work that may wait on the network and touch the database too. Always
  a pool thread, so a slow remote service never holds up the calls' database work on
  SQLite's one thread. Calendar HTTP (Google, Microsoft, Calendly) goes to a pool of its own
  (`executor=`, integrations.calendar_base.off_loop.calendar_http), so that its threads,
  stuck in an outage, never starve the web requests of the default pool.

Both close the thread's stale connections before and after the work, as
`channels.db.database_sync_to_async` does, but from inside the work itself: a pooled
connection goes back to the pool the moment the work ends, whoever awaits it. (Channels'
test communicators switch `channels.db`'s closing off while they wait, which left a pooled
connection checked out per test and ran the suite's pool dry.)

`insert_or_get` is the one way rows that are nearly always new are written (see there);
`unique_row` the way a row is read by a unique key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import IntegrityError, close_old_connections, connection, connections, transaction
from django.db.models import Model, QuerySet


def _returning_connections(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def work(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return work


def run_orm(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` as a coroutine function on the ORM thread policy above (decorator or wrapper)."""
    sqlite = connections["default"].vendor == "sqlite"
    return sync_to_async(_returning_connections(func), thread_sensitive=sqlite)


def run_blocking(
    func: Callable[..., Any], *, executor: Executor | None = None
) -> Callable[..., Any]:
    """`func` as a coroutine function on a pool thread of its own (decorator or wrapper): the
    event loop's default pool (web requests, ORM work), or `executor`'s (calendar HTTP:
    integrations.calendar_base.off_loop.CALENDAR_HTTP_THREADS)."""
    return sync_to_async(_returning_connections(func), thread_sensitive=False, executor=executor)


M = TypeVar("M", bound=Model)


def unique_row(queryset: QuerySet[M]) -> M | None:
    """The one row a filter on a unique key matches, or None: `.first()` without the
    ORDER BY it adds (the model's ordering, or the primary key), which costs more to
    compile than the rest of such a query and orders at most one row."""
    rows = list(queryset.order_by()[:1])
    return rows[0] if rows else None


def insert_or_get(new: M, **unique: Any) -> tuple[M, bool]:
    """Insert `new`, or on a clash with its unique `unique` fields return the row already there:
    (row, inserted). Like get_or_create the other way round: where nearly every row is new
    (a call arriving, a text about a new booking, a queued task), this is one statement
    rather than a read and then a write. Inside a transaction a savepoint keeps the clash
    from aborting it."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                new.save(force_insert=True)
        else:
            new.save(force_insert=True)
    except IntegrityError:
        existing = type(new)._default_manager.filter(**unique).first()
        if existing is None:
            raise
        return existing, False
    return new, True
