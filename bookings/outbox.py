"""A durable task outbox: work that follows a write, kept in the database until it succeeds.

A booking is made inside the call; texting the customer and creating the calendar event are
not allowed to slow the call down or undo the booking when they fail. So the call enqueues an
`OutboxTask` row and moves on. Whoever gets there first runs it: the in-process nudge (a
background thread, usually within a second) or `manage.py run_worker`. A task survives a
restart because it is a row; a task left "running" by a crashed process is reclaimed once
its lease runs out.

Handlers are registered by kind (`@register_task("sms.booking_confirmation")`) from the app
that owns the work, so this module never imports `calls` or `integrations`. A handler takes
the task's JSON payload and either returns (done), raises `PermanentTaskError` (failed, no
retry), raises `RetryAfter(seconds)` (e.g. a rate limit) or raises anything else (retried
with exponential backoff and jitter until `max_attempts`). Handlers must be idempotent: a
task can run again after a crash, a lost lease or an ambiguous failure.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from bookings.models import OutboxTask
from bookings.orm import BACKGROUND_PATIENCE_SECONDS, mark_background, wait_for_quiet

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
    new = OutboxTask(
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        next_attempt_at=run_at or timezone.now(),
    )
    # Insert first, look up only on a clash (get_or_create does it the other way round):
    # a call enqueues while the caller waits for its goodbye, and nearly every key is new,
    # so this is one statement rather than a read and a transaction. Inside a transaction,
    # a savepoint keeps the clash from aborting it.
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                new.save(force_insert=True)
        else:
            new.save(force_insert=True)
    except IntegrityError:
        existing = OutboxTask.objects.filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return existing
    return new


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Delay after the `attempts`-th failure: 5 s, 10 s, 20 s ... capped at 15 minutes."""
    exponent = min(max(attempts, 1) - 1, 20)
    delay = min(BASE_DELAY * 2**exponent, MAX_DELAY)
    jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return min(delay * jitter, MAX_DELAY)


# -- Running -----------------------------------------------------------------------------


def claim_due(
    *, limit: int, now: datetime | None = None, ids: Iterable[int] | None = None
) -> list[OutboxTask]:
    """Mark up to `limit` due tasks as running (ours for one lease) and return them.

    Due: pending and next_attempt_at has come, or running with an expired lease. Safe with
    several workers: on Postgres the rows are locked and others skip them; on SQLite the
    transaction begins IMMEDIATE (settings), so claims are serialised.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxTask.objects.filter(
            status__in=[OutboxTask.Status.PENDING, OutboxTask.Status.RUNNING],
            next_attempt_at__lte=now,
        )
        if ids is not None:
            due = due.filter(pk__in=list(ids))
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
    return _record(task, OutboxTask.Status.DONE, error="")


def run_due(*, limit: int = 50, now: datetime | None = None) -> int:
    """Claim and run up to `limit` due tasks in this thread; returns how many ran."""
    tasks = claim_due(limit=limit, now=now)
    for task in tasks:
        run_task(task)
    return len(tasks)


def run_now(task_ids: Iterable[int]) -> int:
    """Run these tasks now if they are due and nobody else holds them."""
    ids = list(task_ids)
    tasks = claim_due(limit=len(ids), ids=ids) if ids else []
    for task in tasks:
        run_task(task)
    return len(tasks)


def retry_now(queryset: QuerySet[OutboxTask]) -> list[int]:
    """Make unfinished or failed tasks due now, with at least one attempt left, and nudge
    the in-process runner. Tasks currently running are left to their runner."""
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


# -- The in-process nudge ------------------------------------------------------------------

# Two runners at most: enough for a confirmation and a calendar event to go out side by
# side. The pool's threads are joined at interpreter exit, so a clean shutdown finishes what
# it began; an unclean one leaves running rows that the worker reclaims after LEASE.
RUNNERS = 2
# Under load (many bookings a second) nudges pile up while a runner works: it then claims
# them in batches, one claim transaction for many tasks rather than one each. (At 200 calls
# the calls' latency was the same with 2 or 10; it saves the runner's own work.)
CLAIM_BATCH = 10
# Background threads: the calls' database work goes first (bookings.orm).
_executor = ThreadPoolExecutor(
    max_workers=RUNNERS, thread_name_prefix="outbox", initializer=mark_background
)
_lock = threading.Lock()
_waiting: list[int] = []  # nudged task ids no runner has taken yet
_runners = 0  # runners started and not finished
_in_flight: set[Future] = set()


def nudge(task_ids: Iterable[int]) -> None:
    """Run these tasks soon in a background thread, once the current transaction commits.

    The call never waits for them. Whatever fails here is retried by `run_worker`. Off with
    settings.OUTBOX_RUN_IN_PROCESS = False (e.g. when dedicated workers are preferred).
    """
    ids = list(task_ids)
    if not ids or not settings.OUTBOX_RUN_IN_PROCESS:
        return
    transaction.on_commit(lambda: _submit(ids))


def wait_for_nudges(timeout: float | None = None) -> bool:
    """Wait for background runs started so far; True when all finished (tests, shutdown)."""
    with _lock:
        pending = list(_in_flight)
    _, not_done = wait_futures(pending, timeout=timeout)
    return not not_done


def _submit(ids: list[int]) -> None:
    global _runners
    with _lock:
        _waiting.extend(ids)
        if _runners >= RUNNERS:
            return  # a runner takes them once it is done with what it holds
        _runners += 1
        future = _executor.submit(_run_waiting)
        _in_flight.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future) -> None:
    with _lock:
        _in_flight.discard(future)


def _run_waiting() -> None:
    """One runner: run nudged tasks, a batch at a time, until none are waiting."""
    global _runners
    close_old_connections()
    while True:
        with _lock:
            # Deciding to stop under the lock that _submit() checks: no nudge is left behind.
            batch = _waiting[:CLAIM_BATCH]
            del _waiting[:CLAIM_BATCH]
            if not batch:
                _runners -= 1
                break
        # The calls' own database work first (bookings.orm).
        wait_for_quiet(BACKGROUND_PATIENCE_SECONDS)
        try:
            run_now(batch)
        except Exception:
            logger.exception(
                "In-process run of outbox tasks %s failed; run_worker will retry.", batch
            )
        except BaseException:
            with _lock:
                _runners -= 1
            raise
    # This thread's connection, by the settings' rules: SQLite keeps it (reopening one
    # costs more than the tasks), Postgres hands it back to the pool.
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


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
