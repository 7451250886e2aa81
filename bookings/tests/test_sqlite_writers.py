"""Writers in one process take turns (bookings.sqlite_backend), the calls' before background
work's (bookings.orm). SQLite only: Postgres has row locks and no such queue."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from bookings import orm
from bookings.models import OutboxTask
from bookings.outbox import enqueue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's single writer"),
]
WAIT = 5  # seconds; generous, the machine may be busy


def in_thread(work):
    """Run `work` on its own connection, closed afterwards (like the ORM's threads)."""

    def run():
        try:
            return work()
        finally:
            connection.close()

    return run


def test_a_second_writer_waits_its_turn_instead_of_failing_on_the_lock():
    first_wrote, finish_first = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            enqueue("test.a", {}, dedupe_key="first")
            first_wrote.set()
            finish_first.wait(WAIT)

    def second():
        # Without the turns, SQLite alone decides: with no busy timeout it refuses at once
        # ("database is locked"); with one it sleeps in steps of up to 100 ms.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 0")
        first_wrote.wait(WAIT)
        enqueue("test.b", {}, dedupe_key="second")

    with ThreadPoolExecutor(max_workers=2) as pool:
        firsts, seconds = pool.submit(in_thread(first)), pool.submit(in_thread(second))
        assert first_wrote.wait(WAIT)
        time.sleep(0.2)
        assert not seconds.done()  # waiting for its turn
        finish_first.set()
        firsts.result(WAIT)
        seconds.result(WAIT)

    assert sorted(OutboxTask.objects.values_list("dedupe_key", flat=True)) == ["first", "second"]


def test_a_waiting_call_writes_before_waiting_background_work():
    first_wrote, finish_first = threading.Event(), threading.Event()
    order: list[str] = []

    def first():
        with transaction.atomic():
            enqueue("test.a", {}, dedupe_key="first")
            first_wrote.set()
            finish_first.wait(WAIT)

    def write(key: str, *, background: bool):
        def work():
            if background:
                orm.mark_background()
            enqueue("test.b", {}, dedupe_key=key)
            order.append(key)

        return work

    with ThreadPoolExecutor(max_workers=5) as pool:
        firsts = pool.submit(in_thread(first))
        assert first_wrote.wait(WAIT)
        writers = [
            pool.submit(in_thread(write(f"background {n}", background=True))) for n in range(3)
        ]
        time.sleep(0.2)  # background writers queue first...
        writers.append(pool.submit(in_thread(write("call", background=False))))
        time.sleep(0.2)  # ...then a call's
        finish_first.set()
        for future in (firsts, *writers):
            future.result(WAIT)

    assert order[0] == "call"
    assert sorted(order[1:]) == ["background 0", "background 1", "background 2"]


def test_background_work_waits_for_the_calls_orm_work_but_not_forever():
    orm._foreground.started()  # a call's query is running
    try:
        waiter = ThreadPoolExecutor(max_workers=1)
        quiet = waiter.submit(orm.wait_for_quiet, WAIT)
        time.sleep(0.1)
        assert not quiet.done()
        orm._foreground.finished()
        assert quiet.result(WAIT) is True

        orm._foreground.started()
        started = time.monotonic()
        assert orm.wait_for_quiet(0.2) is False  # gave up: background work is never stalled
        assert time.monotonic() - started < WAIT
    finally:
        orm._foreground.finished()
        waiter.shutdown()
