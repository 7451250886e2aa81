"""Running ORM work from async code: the one place that decides which thread it runs on.

SQLite allows one writer at a time, and a writer that finds the file locked sleeps in steps
of up to 100 ms; so on SQLite every ORM call from the event loop goes through one thread
(Channels' default), which never waits on itself. On Postgres, work from many calls runs in
parallel threads over the connection pool: a single thread would queue every call's network
round trips behind each other.

Work a caller waits for (foreground) comes first. Background threads (the outbox's runners)
are marked as such; before they write they wait, a bounded time, for a moment when no call
has ORM work queued or running (`wait_for_quiet`), and on SQLite they never jump ahead of a
waiting foreground writer (bookings.sqlite_backend). Measured with bench/bench_call_loop.py
(200 calls): without this, texts going out during the calls' bookings took the first-token
p99 from ~40 ms to ~400-500 ms.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from channels.db import database_sync_to_async
from django.db import connections

# How long background work waits for the calls to leave the database alone before it goes
# ahead anyway: long enough to let a burst of answers through, short enough that it never
# stalls.
BACKGROUND_PATIENCE_SECONDS = 1.0


def _serialise_orm_work() -> bool:
    return connections["default"].vendor == "sqlite"


def run_orm(func: Callable[..., Any]) -> Callable[..., Any]:
    """Like `channels.db.database_sync_to_async` (connections cleaned before and after),
    on the thread policy above. Usable as a decorator or a wrapper."""
    in_thread = database_sync_to_async(func, thread_sensitive=_serialise_orm_work())

    @functools.wraps(func)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if _background.get():
            return await in_thread(*args, **kwargs)
        _foreground.started()
        try:
            return await in_thread(*args, **kwargs)
        finally:
            _foreground.finished()

    return run


# -- Foreground first ----------------------------------------------------------------------


class _Foreground:
    """How many pieces of ORM work callers are waiting for, and a way to wait for none."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._in_flight = 0

    def started(self) -> None:
        with self._changed:
            self._in_flight += 1

    def finished(self) -> None:
        with self._changed:
            self._in_flight -= 1
            if not self._in_flight:
                self._changed.notify_all()

    def wait_for_quiet(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._in_flight, timeout)


_foreground = _Foreground()
# A context variable, not a thread-local: work done on the background's behalf (through
# async_to_sync, sync_to_async) carries the mark along.
_background: ContextVar[bool] = ContextVar("orm_background", default=False)


def wait_for_quiet(timeout: float) -> bool:
    """Block until no call has ORM work queued or running, or `timeout` seconds passed
    (then False). For background threads only, never the event loop."""
    return _foreground.wait_for_quiet(timeout)


def mark_background() -> None:
    """What runs from here on (in this thread, or this context) is nobody's wait, e.g. an
    outbox runner's work: it gives way to the calls'. Also a thread pool's initializer."""
    _background.set(True)


def is_background() -> bool:
    return _background.get()
