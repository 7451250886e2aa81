"""Django's SQLite backend, with this process's writers taking turns on a lock.

SQLite lets one connection write at a time. A connection that finds the database locked
waits in SQLite's busy handler, which sleeps in steps growing to 100 ms however soon the lock
is freed. Under load (the calls' ORM thread and the outbox's threads writing side by side)
those sleeps were a large part of a call's latency. So, before SQLite is asked for the write
lock, a writer in this process first takes its turn here, which wakes the next writer the
moment the previous one commits. Writers a caller waits for go first: background threads
(bookings.orm.mark_background, e.g. the outbox) wait, a bounded time, until the
calls' ORM work has drained, and never jump ahead of a waiting foreground writer. Other
processes (run_worker, manage.py) are still kept out by SQLite's own lock and busy timeout.

Only the queueing changes: transactions still begin IMMEDIATE (settings), which is what
keeps "check for an overlap, then insert" atomic (bookings.services.book_slot).
"""

from __future__ import annotations

import threading
import time

from django.db.backends.sqlite3 import base

from bookings import orm

# Statements that never write; anything else run outside a transaction is a writer.
_READS = ("SELECT", "EXPLAIN", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK TO")


class _Turns:
    """One writer at a time in this process; waiting foreground writers before background."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._writing = False
        self._foreground_waiting = 0

    def take(self, *, background: bool, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if background:
            orm.wait_for_quiet(min(timeout, orm.BACKGROUND_PATIENCE_SECONDS))
        with self._changed:
            if not background:
                self._foreground_waiting += 1
            try:
                taken = self._changed.wait_for(
                    lambda: not self._writing and (not background or not self._foreground_waiting),
                    max(0.0, deadline - time.monotonic()),
                )
                if taken:
                    self._writing = True
                return taken
            finally:
                if not background:
                    self._foreground_waiting -= 1

    def give_back(self) -> None:
        with self._changed:
            self._writing = False
            self._changed.notify_all()


# One per process: every connection of every thread queues here.
_turns = _Turns()


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._has_turn = False
        # Single statements outside a transaction (Model.save, QuerySet.update) commit on
        # their own: they take a turn for the statement.
        self.execute_wrappers.append(self._turn_for_autocommit_write)

    def _take_turn(self) -> None:
        if not self._has_turn:
            # Past SQLite's own busy timeout, SQLite's lock decides, as it always did.
            timeout = float(self.settings_dict["OPTIONS"].get("timeout", 5))
            self._has_turn = _turns.take(background=orm.is_background(), timeout=timeout)

    def _end_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            _turns.give_back()

    def _start_transaction_under_autocommit(self) -> None:
        self._take_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_turn()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._end_turn()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._end_turn()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._end_turn()

    def _turn_for_autocommit_write(self, execute, sql, params, many, context):
        if self._has_turn or self.in_atomic_block or sql.lstrip()[:11].upper().startswith(_READS):
            return execute(sql, params, many, context)
        self._take_turn()
        try:
            return execute(sql, params, many, context)
        finally:
            self._end_turn()
