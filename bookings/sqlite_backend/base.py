"""Django's SQLite backend, with this process's writers taking turns on a lock.

SQLite lets one connection write at a time. A connection that finds the database locked
waits in SQLite's busy handler, which sleeps in steps growing to 100 ms however soon the lock
is freed. Under load (the calls' ORM thread, the outbox's threads and the webhooks' threads
all writing) those sleeps were most of a call's latency. So, before SQLite is asked for the
write lock, a writer in this process first takes a process-wide lock, which wakes the next
writer the moment the previous one commits. Other processes (run_worker, manage.py) are
still kept out by SQLite's own lock and busy timeout, as before.

Only the queueing changes: transactions still begin IMMEDIATE (settings), which is what
keeps "check for an overlap, then insert" atomic (bookings.services.book_slot).
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

# One per process: every connection of every thread to this database file queues here.
_WRITER = threading.Lock()
# Statements that never write; anything else run outside a transaction is a writer.
_READS = ("SELECT", "EXPLAIN", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK TO")


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._holds_writer = False
        # Single statements outside a transaction (Model.save, QuerySet.update) commit on
        # their own: they take the lock for the statement.
        self.execute_wrappers.append(self._queue_autocommit_write)

    def _writer_timeout(self) -> float:
        # The same patience as SQLite's busy timeout: past it, SQLite's own lock decides.
        return float(self.settings_dict["OPTIONS"].get("timeout", 5))

    def _take_writer(self) -> None:
        if not self._holds_writer:
            self._holds_writer = _WRITER.acquire(timeout=self._writer_timeout())

    def _free_writer(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            _WRITER.release()

    def _start_transaction_under_autocommit(self) -> None:
        self._take_writer()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._free_writer()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._free_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._free_writer()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._free_writer()

    def _queue_autocommit_write(self, execute, sql, params, many, context):
        if self._holds_writer or self.in_atomic_block or sql.lstrip().upper().startswith(_READS):
            return execute(sql, params, many, context)
        self._take_writer()
        try:
            return execute(sql, params, many, context)
        finally:
            self._free_writer()
