"""A durable task outbox: work that follows a write, kept in the database until it succeeds.

A booking is made inside the call; texting the customer and creating the calendar event are
not allowed to slow the call down or undo the booking when they fail. So the call enqueues an
`OutboxTask` row and moves on. A worker runs it: `manage.py run_worker` (polling once a
second), or, when OUTBOX_RUN_IN_PROCESS asks for it, a thread of the web process woken by the
commit. A task survives a restart because it is a row; a task left "running" by a crashed
process is reclaimed once its lease runs out.

Handlers are registered by kind (`@register_task("sms.booking_confirmation")`) from the app
that owns the work, so this module never imports `calls` or `integrations`. A handler takes
the task's JSON payload and either returns (done), raises `PermanentTaskError` (failed, no
retry), raises `RetryAfter(seconds)` (e.g. a rate limit) or raises anything else (retried
with exponential backoff and jitter until `max_attempts`). Handlers must be idempotent: a
task can run again after a crash, a lost lease or an ambiguous failure.
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from bookings.models import OutboxTask
from bookings.orm import insert_or_get

logger = logging.getLogger(__name__)

TaskHandler = Callable[[dict[str, Any]], None]

# The one registry of task kinds: kind -> handler.
TASKS: dict[str, TaskHandler] = {}

DEFAULT_MAX_ATTEMPTS = 12
BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=15)
JITTER = 0.1  # +-10%, so tasks that failed together don't all come back in the same second
# Longer than any handler should take (their HTTP calls have timeouts of seconds); a
# "running" task older than this belongs to a process that died.
LEASE = timedelta(minutes=5)
MIN_RETRY_AFTER = timedelta(seconds=1)
ERROR_LIMIT = 2000
LEASE_EXPIRED = "Lease expired during the last attempt (process died?)."


class PermanentTaskError(Exception):
    """Retrying cannot help (bad input, a definitive refusal): the task fails now."""


class RetryAfter(Exception):
    """Try again no sooner than `seconds` from now (a rate limit said so)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds:g}s")
        self.seconds = seconds


def register_task(kind: str) -> Callable[[TaskHandler], TaskHandler]:
    def decorator(handler: TaskHandler) -> TaskHandler:
        TASKS[kind] = handler
        return handler

    return decorator


def outbox_task(
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    run_at: datetime | None = None,
) -> OutboxTask:
    """A task not queued yet: `enqueue` writes one, `enqueue_together` several at once."""
    return OutboxTask(
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        next_attempt_at=run_at or timezone.now(),
    )


def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    run_at: datetime | None = None,
) -> OutboxTask:
    """Queue `kind` once per `dedupe_key` (e.g. "sms:booking:42"): enqueueing the same key
    again returns the existing task, whatever its status."""
    new = outbox_task(
        kind, payload, dedupe_key=dedupe_key, max_attempts=max_attempts, run_at=run_at
    )
    # A call enqueues while the caller waits for its goodbye, and nearly every key is new.
    task, _ = insert_or_get(new, dedupe_key=dedupe_key)
    return task


def enqueue_together(tasks: list[OutboxTask]) -> None:
    """Queue `outbox_task`s in one statement (e.g. everything a new booking needs); a key
    already queued keeps its task, whatever its status. The rows get no ids here."""
    if tasks:
        OutboxTask.objects.bulk_create(tasks, ignore_conflicts=True)


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Delay after the `attempts`-th failure: 5 s, 10 s, 20 s ... capped at 15 minutes."""
    exponent = min(max(attempts, 1) - 1, 20)
    delay = min(BASE_DELAY * 2**exponent, MAX_DELAY)
    jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return min(delay * jitter, MAX_DELAY)


# -- Running -----------------------------------------------------------------------------


def claim_due(*, limit: int, now: datetime | None = None) -> list[OutboxTask]:
    """Mark up to `limit` due tasks as running (ours for one lease) and return them.

    Due: pending and next_attempt_at has come, or running with an expired lease. Safe with
    several workers: on Postgres the rows are locked and others skip them; on SQLite the
    transaction begins IMMEDIATE (settings), so claims are serialised.
    """
    now = now or timezone.now()
    due = OutboxTask.objects.filter(
        status__in=[OutboxTask.Status.PENDING, OutboxTask.Status.RUNNING],
        next_attempt_at__lte=now,
    )
    # An idle worker polls every second. On SQLite the claim's transaction would take the
    # write lock from the calls each time, so it looks first; Postgres' row locks cost the
    # calls nothing, and the claim's own SELECT is the look.
    if connection.vendor == "sqlite" and not due.exists():
        return []
    with transaction.atomic():
        tasks = list(
            due.select_for_update(skip_locked=True).order_by("next_attempt_at", "pk")[:limit]
        )
        claimed, spent = [], []
        for task in tasks:
            if task.status == OutboxTask.Status.RUNNING:
                logger.warning("Reclaiming %s: its runner's lease ran out.", task)
                if task.attempts >= task.max_attempts:
                    spent.append(task)
                    continue
            claimed.append(task)
        # Two set-based UPDATEs, whatever the batch size: a claim holds the write lock
        # (SQLite: the whole database) for as short a time as it can.
        if spent:
            OutboxTask.objects.filter(pk__in=[task.pk for task in spent]).update(
                status=OutboxTask.Status.FAILED, last_error=LEASE_EXPIRED, updated_at=now
            )
        if claimed:
            OutboxTask.objects.filter(pk__in=[task.pk for task in claimed]).update(
                status=OutboxTask.Status.RUNNING,
                attempts=F("attempts") + 1,
                next_attempt_at=now + LEASE,
                updated_at=now,
            )
        for task in spent:
            task.status = OutboxTask.Status.FAILED
            task.last_error = LEASE_EXPIRED
            task.updated_at = now
        for task in claimed:
            task.status = OutboxTask.Status.RUNNING
            task.attempts += 1
            task.next_attempt_at = now + LEASE
            task.updated_at = now
    return claimed


def run_task(task: OutboxTask) -> str:
    """Run one claimed task and record the outcome; returns the task's new status."""
    status = _run(task)
    if status == OutboxTask.Status.DONE:
        return OutboxTask.Status.DONE if _record_done([task]) else task.status
    return status


def _run(task: OutboxTask) -> str:
    """Run one claimed task. A failure is recorded here; a success is only returned (DONE),
    for the caller to record with the rest of its batch."""
    handler = TASKS.get(task.kind)
    try:
        if handler is None:
            # Retried rather than failed: the process that registers it may just be elsewhere.
            raise LookupError(f"No handler registered for task kind {task.kind!r}.")
        handler(task.payload)
    except PermanentTaskError as exc:
        logger.error("%s failed permanently: %s", task, exc)
        return _record(task, OutboxTask.Status.FAILED, error=_describe(exc))
    except RetryAfter as exc:
        logger.info("%s asked to retry after %ss: %s", task, exc.seconds, exc)
        delay = max(timedelta(seconds=exc.seconds), MIN_RETRY_AFTER)
        return _retry_or_fail(task, delay, _describe(exc))
    except Exception as exc:
        logger.warning("%s attempt %d failed: %s", task, task.attempts, _describe(exc))
        return _retry_or_fail(task, backoff(task.attempts), _describe(exc))
    return OutboxTask.Status.DONE


def run_due(*, limit: int = 50, now: datetime | None = None) -> int:
    """Claim and run up to `limit` due tasks in this thread; returns how many ran.

    The batch's successes are recorded together, in one statement, once it has run, unless
    time runs short: every task's lease began at the claim, and once less than half of it
    is left the successes so far are recorded before the next task starts. So a finished
    task is recorded within its own lease (a handler takes seconds, LEASE is minutes) and
    no other worker reclaims it, runs it again or fails it as "Lease expired". A process
    killed mid-batch leaves the unrecorded ones running, to be run again after the lease
    like any task it was running (handlers are idempotent)."""
    tasks = claim_due(limit=limit, now=now)
    done: list[OutboxTask] = []
    for task in tasks:
        if done and _lease_left(done) <= LEASE / 2:
            _record_done(done)
            done = []
        if _run(task) == OutboxTask.Status.DONE:
            done.append(task)
    _record_done(done)
    return len(tasks)


def _lease_left(tasks: list[OutboxTask]) -> timedelta:
    """How long until the first of these claimed tasks' leases runs out."""
    return min(task.next_attempt_at for task in tasks) - timezone.now()


def retry_now(queryset: QuerySet[OutboxTask]) -> list[int]:
    """Make unfinished or failed tasks due now, with at least one attempt left, and nudge
    the in-process worker. Tasks currently running are left to their runner."""
    tasks = queryset.filter(status__in=[OutboxTask.Status.PENDING, OutboxTask.Status.FAILED])
    ids = list(tasks.values_list("pk", flat=True))
    OutboxTask.objects.filter(pk__in=ids).update(
        status=OutboxTask.Status.PENDING,
        next_attempt_at=timezone.now(),
        max_attempts=Greatest(F("max_attempts"), F("attempts") + 1),
        updated_at=timezone.now(),
    )
    nudge(ids)
    return ids


# -- Workers ---------------------------------------------------------------------------------

# Set when a transaction that queued work commits in this process: its worker thread (if
# any) looks at once instead of at its next poll.
_work_queued = threading.Event()


def nudge(tasks: Iterable[object]) -> None:
    """Tell this process's worker thread (OUTBOX_RUN_IN_PROCESS) about new work (the tasks
    just queued, or their ids), once the current transaction commits. Without one,
    `run_worker` finds it at its next poll."""
    if list(tasks) and settings.OUTBOX_RUN_IN_PROCESS:
        transaction.on_commit(_work_queued.set)


class Worker:
    """Runs due tasks, a batch per claim, until stopped: `manage.py run_worker`, or a thread
    of the web process (`start_in_process`). Any number may run side by side, in any
    processes: each claims its own tasks (`claim_due`)."""

    def __init__(self, *, interval: float = 1.0, batch: int = 20) -> None:
        self.interval, self.batch = interval, batch
        self.stopping = threading.Event()

    def run(self, *, once: bool = False) -> int:
        """Returns how many tasks ran; with `once`, as soon as none is due."""
        ran = 0
        while not self.stopping.is_set():
            _drop_stale_connections()
            count = run_due(limit=self.batch)
            ran += count
            if count:
                continue
            if once:
                break
            _work_queued.wait(self.interval)
            _work_queued.clear()  # the run_due that follows sees what was nudged
        _drop_stale_connections()
        return ran

    def stop(self) -> None:
        """Finish the task in hand, then return from run()."""
        self.stopping.set()
        _work_queued.set()


def start_in_process(*, interval: float = 1.0) -> tuple[Worker, threading.Thread]:
    """A worker thread in this (web) process. It stops when the process exits, after the
    task in hand; a task cut off by a hard kill is reclaimed by a worker after LEASE."""
    worker = Worker(interval=interval)
    thread = threading.Thread(target=worker.run, name="outbox-worker", daemon=True)
    thread.start()

    def stop() -> None:
        worker.stop()
        thread.join(timeout=LEASE.total_seconds())

    atexit.register(stop)
    return worker, thread


def _drop_stale_connections() -> None:
    # A worker lives for days: drop connections the server closed or that outlived
    # CONN_MAX_AGE between polls. Never inside a transaction (only when a test calls us).
    if not connection.in_atomic_block:
        close_old_connections()


# -- Recording outcomes ------------------------------------------------------------------


def _retry_or_fail(task: OutboxTask, delay: timedelta, error: str) -> str:
    if task.attempts >= task.max_attempts:
        logger.error("%s gave up after %d attempts: %s", task, task.attempts, error)
        return _record(
            task, OutboxTask.Status.FAILED, error=f"Gave up after {task.attempts} attempts: {error}"
        )
    return _record(
        task, OutboxTask.Status.PENDING, error=error, next_attempt_at=timezone.now() + delay
    )


def _record(
    task: OutboxTask, status: str, *, error: str, next_attempt_at: datetime | None = None
) -> str:
    """Write the outcome, unless our lease was lost and another runner took the task over
    (then its outcome is the one that counts)."""
    fields: dict[str, Any] = {
        "status": status,
        "last_error": error[:ERROR_LIMIT],
        "updated_at": timezone.now(),
    }
    if next_attempt_at is not None:
        fields["next_attempt_at"] = next_attempt_at
    updated = OutboxTask.objects.filter(
        pk=task.pk, status=OutboxTask.Status.RUNNING, attempts=task.attempts
    ).update(**fields)
    if not updated:
        logger.warning("%s: lease lost before the outcome (%s) was recorded.", task, status)
        return task.status
    for name, value in fields.items():
        setattr(task, name, value)
    return status


def _record_done(tasks: list[OutboxTask]) -> bool:
    """Record these tasks' success in one statement, each unless its lease was lost (as
    `_record`). Returns whether every one was recorded."""
    if not tasks:
        return True
    fields = {"status": OutboxTask.Status.DONE, "last_error": "", "updated_at": timezone.now()}
    # Still ours: at the attempt we claimed (a reclaim counts one more), and running, or
    # failed by a claim because our lease ran out on the last attempt (nobody ran it since:
    # the success is the outcome that counts).
    by_attempt: dict[int, list[int]] = {}
    for task in tasks:
        by_attempt.setdefault(task.attempts, []).append(task.pk)
    ours = Q()
    for attempts, ids in by_attempt.items():
        ours |= Q(attempts=attempts, pk__in=ids)
    unfinished = Q(status=OutboxTask.Status.RUNNING) | Q(
        status=OutboxTask.Status.FAILED, last_error=LEASE_EXPIRED
    )
    updated = OutboxTask.objects.filter(ours, unfinished).update(**fields)
    if updated < len(tasks):
        # Rare: find which (done at our attempt is ours; nobody else runs that attempt).
        recorded = set(
            OutboxTask.objects.filter(ours, status=OutboxTask.Status.DONE).values_list(
                "pk", flat=True
            )
        )
        lost = [task for task in tasks if task.pk not in recorded]
        logger.warning(
            "%d of %d tasks lost their lease before their success was recorded: %s",
            len(lost),
            len(tasks),
            ", ".join(str(task) for task in lost),
        )
        for task in tasks:
            if task.pk in recorded:
                for name, value in fields.items():
                    setattr(task, name, value)
        return False
    for task in tasks:
        for name, value in fields.items():
            setattr(task, name, value)
    return True


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
