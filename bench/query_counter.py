"""Bench only: count the SQL statements a server process sends to its database (one per
execute; BEGIN/COMMIT are not statements Django executes through cursors and are not counted:
the bench reads Postgres' transaction counters for those).

`install()` puts an execute wrapper (Django's `connection.execute_wrapper` hook) on every
database connection the process opens, in every thread; `count()` is the running total.
The bench's ASGI app (echo_asgi) serves it at /bench/queries/, and bench/counted_worker.py
writes the worker's total to a file on SIGUSR1.
"""

from __future__ import annotations

import os
import threading

from django.db.backends.signals import connection_created

_lock = threading.Lock()
_total = 0
# BENCH_QUERY_LOG=path: also append each statement (its first 120 characters) to that file.
_log = open(os.environ["BENCH_QUERY_LOG"], "a") if os.environ.get("BENCH_QUERY_LOG") else None  # noqa: SIM115


def _count(execute, sql, params, many, context):
    global _total
    with _lock:
        _total += 1  # one round trip, also for executemany (bulk inserts)
        if _log is not None:
            _log.write(f"{threading.current_thread().name}: {sql[:120]}\n")
            _log.flush()
    return execute(sql, params, many, context)


def _on_connection(sender, connection, **kwargs) -> None:
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


def install() -> None:
    connection_created.connect(_on_connection, weak=False, dispatch_uid="bench-query-counter")


def count() -> int:
    with _lock:
        return _total
