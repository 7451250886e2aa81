"""Workers side by side: every task runs exactly once, however many workers race for it, and
a web process's own worker (OUTBOX_RUN_IN_PROCESS) starts on work as soon as it commits."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bookings import outbox
from bookings.models import OutboxTask
from bookings.outbox import Worker, claim_due, enqueue, nudge

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30  # seconds; generous, the machine may be busy


@pytest.fixture
def counted(monkeypatch):
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(payload: dict) -> None:
        with lock:
            runs[payload["n"]] += 1
        time.sleep(0.001)  # long enough for the other workers to come for the same rows

    monkeypatch.setitem(outbox.TASKS, "test.count", handler)
    return runs


def test_workers_racing_over_the_same_tasks_run_each_exactly_once(counted):
    for n in range(60):
        enqueue("test.count", {"n": n}, dedupe_key=f"count:{n}")
    start = threading.Barrier(4)
    ran: list[int] = []

    def worker() -> None:
        try:
            start.wait(WAIT)
            ran.append(Worker(batch=3).run(once=True))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)

    assert counted == {n: 1 for n in range(60)}
    assert sum(ran) == 60
    assert len([count for count in ran if count]) > 1  # they did share the work
    assert set(OutboxTask.objects.values_list("status", flat=True)) == {"done"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres row locks")
def test_on_postgres_a_claim_skips_rows_another_worker_has_locked():
    for n in range(4):
        enqueue("test.count", {"n": n}, dedupe_key=f"count:{n}")
    locked = threading.Event()
    release = threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                list(OutboxTask.objects.select_for_update().order_by("pk")[:2])
                locked.set()
                release.wait(WAIT)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(WAIT)
        with CaptureQueriesContext(connection) as queries:
            claimed = claim_due(limit=10)  # does not wait for the other worker
    finally:
        release.set()
        thread.join(WAIT)

    first_two = list(OutboxTask.objects.order_by("pk").values_list("pk", flat=True)[:2])
    assert sorted(task.pk for task in claimed) == sorted(
        set(OutboxTask.objects.values_list("pk", flat=True)) - set(first_two)
    )
    assert any("FOR UPDATE SKIP LOCKED" in query["sql"] for query in queries)


def test_the_web_process_worker_starts_on_work_when_it_commits(counted, settings):
    settings.OUTBOX_RUN_IN_PROCESS = True
    # Polls only once a minute: what runs within the test ran because the commit woke it.
    worker, thread = outbox.start_in_process(interval=60)
    try:
        time.sleep(0.1)  # asleep in its poll by now
        with transaction.atomic():
            task = enqueue("test.count", {"n": 1}, dedupe_key="count:1")
            nudge([task.pk])
        deadline = time.monotonic() + WAIT
        while not counted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert counted == {1: 1}
    finally:
        worker.stop()
        thread.join(WAIT)
    assert not thread.is_alive()
