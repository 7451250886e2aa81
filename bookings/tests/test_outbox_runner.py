"""The in-process runner: nudged tasks run soon, in the background, none left behind."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from bookings import outbox
from bookings.models import OutboxTask
from bookings.outbox import enqueue, nudge, wait_for_nudges

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counted(monkeypatch, settings):
    settings.OUTBOX_RUN_IN_PROCESS = True
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(payload: dict) -> None:
        with lock:
            runs[payload["n"]] += 1

    monkeypatch.setitem(outbox.TASKS, "test.count", handler)
    return runs


def test_every_task_nudged_at_once_from_many_threads_runs_exactly_once(counted):
    tasks = [enqueue("test.count", {"n": n}, dedupe_key=f"count:{n}") for n in range(40)]

    def nudge_some(start: int) -> None:
        try:
            nudge([task.pk for task in tasks[start : start + 5]])
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(nudge_some, range(0, 40, 5)))

    assert wait_for_nudges(10)
    assert counted == {n: 1 for n in range(40)}
    assert set(OutboxTask.objects.values_list("status", flat=True)) == {"done"}


def test_a_nudge_after_the_runners_went_idle_starts_them_again(counted):
    first = enqueue("test.count", {"n": 1}, dedupe_key="count:1")
    nudge([first.pk])
    assert wait_for_nudges(10)
    later = enqueue("test.count", {"n": 2}, dedupe_key="count:2")
    nudge([later.pk])

    assert wait_for_nudges(10)
    assert counted == {1: 1, 2: 1}
