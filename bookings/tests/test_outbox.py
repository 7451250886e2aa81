"""The outbox: durable after-booking work with retries, backoff and safe claiming."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings import outbox
from bookings.models import Booking, OutboxTask
from bookings.outbox import PermanentTaskError, RetryAfter, claim_due, enqueue, run_due
from bookings.providers.native import NativeBookingProvider
from bookings.providers.registry import PROVIDERS
from bookings.tasks import PROVIDER_AFTER_BOOKING, enqueue_provider_after_booking
from bookings.tests.factories import BookingFactory
from bookings.tests.timeutil import local, upcoming


class Handlers:
    """Test task kinds, registered for one test only, that remember what they were given."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.calls: list[tuple[str, dict]] = []

    def add(self, kind: str, *, fail_with: list[BaseException] | None = None) -> None:
        failures = list(fail_with or [])

        def handler(payload: dict) -> None:
            self.calls.append((kind, payload))
            if failures:
                raise failures.pop(0)

        self.monkeypatch.setitem(outbox.TASKS, kind, handler)

    def runs(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)


@pytest.fixture
def handlers(monkeypatch) -> Handlers:
    return Handlers(monkeypatch)


@pytest.fixture(autouse=True)
def no_background_runs(settings):
    # These tests drive the runner themselves; the nudge has its own tests in calls.
    settings.OUTBOX_RUN_IN_PROCESS = False


# Longer than half a lease: the batch's successes so far must be recorded after it.
SLOW = outbox.LEASE / 2 + timedelta(seconds=30)


def later(**delta) -> datetime:
    return timezone.now() + timedelta(**delta)


def refreshed(task: OutboxTask) -> OutboxTask:
    task.refresh_from_db()
    return task


# -- Enqueueing ------------------------------------------------------------------------------


def test_enqueue_is_idempotent_on_the_dedupe_key(db):
    first = enqueue("test.echo", {"n": 1}, dedupe_key="echo:1")
    again = enqueue("test.echo", {"n": 2}, dedupe_key="echo:1")

    assert again.pk == first.pk
    assert again.payload == {"n": 1}
    assert OutboxTask.objects.count() == 1


def test_enqueueing_a_finished_task_again_does_not_run_it_again(db, handlers):
    handlers.add("test.echo")
    enqueue("test.echo", {}, dedupe_key="echo:1")
    run_due()
    enqueue("test.echo", {}, dedupe_key="echo:1")

    assert run_due() == 0
    assert handlers.runs("test.echo") == 1


def test_a_new_task_is_due_at_once_with_its_payload(db, handlers):
    handlers.add("test.echo")
    task = enqueue("test.echo", {"booking_id": 42}, dedupe_key="echo:42")

    assert run_due() == 1
    assert handlers.calls == [("test.echo", {"booking_id": 42})]
    task = refreshed(task)
    assert (task.status, task.attempts, task.last_error) == ("done", 1, "")


def test_a_task_survives_a_restart(db, handlers):
    # The process that enqueued it died before anything ran it (no in-process runner here);
    # a worker started afterwards, knowing nothing of it, finds it in the database.
    enqueue("test.echo", {"n": 7}, dedupe_key="echo:7")
    handlers.add("test.echo")

    assert run_due() == 1
    assert handlers.calls == [("test.echo", {"n": 7})]


# -- Backoff and failures --------------------------------------------------------------------


def test_backoff_doubles_from_five_seconds_and_stops_at_fifteen_minutes():
    rng = random.Random(1)
    for attempts, nominal in [(1, 5), (2, 10), (3, 20), (4, 40), (8, 640)]:
        delay = outbox.backoff(attempts, rng=rng).total_seconds()
        assert nominal * 0.9 <= delay <= nominal * 1.1

    for attempts in (9, 12, 50):
        delay = outbox.backoff(attempts, rng=rng)
        assert timedelta(minutes=13.5) <= delay <= timedelta(minutes=15)


def test_backoff_is_jittered():
    delays = {outbox.backoff(3) for _ in range(20)}
    assert len(delays) > 1


def test_a_failing_task_is_retried_after_the_backoff(db, handlers):
    handlers.add("test.flaky", fail_with=[ConnectionError("upstream down")])
    task = enqueue("test.flaky", {}, dedupe_key="flaky:1")
    started = timezone.now()

    run_due()
    task = refreshed(task)
    assert task.status == "pending"
    assert task.attempts == 1
    assert task.last_error == "ConnectionError: upstream down"
    assert started + timedelta(seconds=4) <= task.next_attempt_at <= later(seconds=6)
    assert run_due() == 0  # not yet due

    assert run_due(now=later(seconds=6)) == 1
    task = refreshed(task)
    assert (task.status, task.attempts, task.last_error) == ("done", 2, "")


def test_a_permanent_error_fails_the_task_without_retrying(db, handlers):
    handlers.add("test.doomed", fail_with=[PermanentTaskError("invalid number")])
    task = enqueue("test.doomed", {}, dedupe_key="doomed:1")

    run_due()
    assert run_due(now=later(hours=2)) == 0
    task = refreshed(task)
    assert task.status == "failed"
    assert task.attempts == 1
    assert "invalid number" in task.last_error
    assert handlers.runs("test.doomed") == 1


def test_a_task_fails_once_its_attempts_are_spent(db, handlers):
    handlers.add("test.flaky", fail_with=[TimeoutError("slow")] * 5)
    task = enqueue("test.flaky", {}, dedupe_key="flaky:1", max_attempts=3)

    for minutes in (0, 20, 40, 60):
        run_due(now=later(minutes=minutes))

    task = refreshed(task)
    assert task.status == "failed"
    assert task.attempts == 3
    assert task.last_error.startswith("Gave up after 3 attempts: TimeoutError: slow")


def test_retry_after_honours_the_delay_asked_for(db, handlers):
    handlers.add("test.limited", fail_with=[RetryAfter(120, "rate limited")])
    task = enqueue("test.limited", {}, dedupe_key="limited:1")

    run_due()
    task = refreshed(task)
    assert task.status == "pending"
    assert "rate limited" in task.last_error
    assert later(seconds=115) <= task.next_attempt_at <= later(seconds=121)
    assert run_due(now=later(seconds=60)) == 0
    assert run_due(now=later(seconds=121)) == 1


def test_a_kind_without_handler_is_retried_not_lost(db):
    task = enqueue("test.unknown-kind", {}, dedupe_key="unknown:1")

    run_due()
    task = refreshed(task)
    assert task.status == "pending"
    assert "No handler registered" in task.last_error


# -- Claiming ----------------------------------------------------------------------------------


def test_a_task_left_running_by_a_dead_process_is_reclaimed_after_its_lease(db, handlers):
    handlers.add("test.echo")
    task = enqueue("test.echo", {}, dedupe_key="echo:1")
    [claimed] = claim_due(limit=10)  # ...and the process that claimed it dies here

    assert run_due() == 0
    assert run_due(now=later(minutes=4)) == 0
    assert run_due(now=later(minutes=6)) == 1
    task = refreshed(task)
    assert (task.status, task.attempts) == ("done", 2)
    assert claimed.attempts == 1


def test_a_reclaimed_runner_cannot_overwrite_the_new_outcome(db, handlers):
    handlers.add("test.echo")
    task = enqueue("test.echo", {}, dedupe_key="echo:1")
    [stale] = claim_due(limit=1)
    run_due(now=later(minutes=6))  # another worker reclaimed and finished it

    handlers.add("test.echo", fail_with=[ConnectionError("late")])
    outbox.run_task(stale)  # the first runner wakes up and fails

    assert refreshed(task).status == "done"


def test_a_task_is_claimed_by_one_runner_only(transactional_db):
    for n in range(30):
        enqueue("test.echo", {}, dedupe_key=f"echo:{n}")
    claimed: list[int] = []
    lock = threading.Lock()

    def runner() -> None:
        from django.db import connection

        try:
            while batch := claim_due(limit=3):
                with lock:
                    claimed.extend(task.pk for task in batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(claimed) == sorted(OutboxTask.objects.values_list("pk", flat=True))
    assert len(claimed) == len(set(claimed)) == 30


# -- The worker command --------------------------------------------------------------------


def test_run_worker_once_drains_due_tasks_and_exits(db, handlers, capsys):
    handlers.add("test.echo")
    handlers.add("test.flaky", fail_with=[ConnectionError("down")])
    for n in range(3):
        enqueue("test.echo", {"n": n}, dedupe_key=f"echo:{n}")
    flaky = enqueue("test.flaky", {}, dedupe_key="flaky:1")
    waiting = enqueue("test.echo", {}, dedupe_key="echo:later", run_at=later(hours=1))

    call_command("run_worker", "--once")

    statuses = dict(OutboxTask.objects.values_list("dedupe_key", "status"))
    assert [statuses[f"echo:{n}"] for n in range(3)] == ["done"] * 3
    assert refreshed(flaky).status == "pending"  # failed once, back off
    assert refreshed(waiting).status == "pending"  # not due yet
    assert "ran 4 task(s)" in capsys.readouterr().out


# -- Retry from admin --------------------------------------------------------------------------


def test_retry_now_gives_a_failed_task_one_more_attempt(db, handlers):
    handlers.add("test.doomed", fail_with=[PermanentTaskError("was broken")])
    task = enqueue("test.doomed", {}, dedupe_key="doomed:1", max_attempts=1)
    run_due()
    assert refreshed(task).status == "failed"

    outbox.retry_now(OutboxTask.objects.filter(pk=task.pk))
    run_due()

    task = refreshed(task)
    assert (task.status, task.attempts, task.last_error) == ("done", 2, "")


def test_admin_lists_tasks_and_retries_them(admin_client, handlers):
    handlers.add("test.flaky", fail_with=[ConnectionError("down")])
    task = enqueue("test.flaky", {}, dedupe_key="flaky:1")
    run_due()

    page = admin_client.get("/admin/bookings/outboxtask/?has_error=yes&status__exact=pending")
    assert page.status_code == 200
    assert b"flaky:1" in page.content

    admin_client.post(
        "/admin/bookings/outboxtask/",
        {"action": "retry_selected_now", "_selected_action": [task.pk]},
    )
    task = refreshed(task)
    assert task.status == "pending"
    assert task.next_attempt_at <= timezone.now()


# -- provider.after_booking ------------------------------------------------------------------


class RecordingProvider(NativeBookingProvider):
    name = "recording"
    label = "Records after_booking calls"
    seen: list[tuple[object, int]] = []

    async def after_booking(self, context, booking_id):
        RecordingProvider.seen.append((context, booking_id))

    async def after_cancel(self, context, booking_id):
        RecordingProvider.seen.append(("cancel", booking_id))


@pytest.fixture
def recording_provider(monkeypatch):
    monkeypatch.setitem(PROVIDERS, RecordingProvider.name, RecordingProvider)
    RecordingProvider.seen = []
    return RecordingProvider


@pytest.fixture
def booking(business, haircut):
    start = local(business, upcoming(business, 1), 15)
    return BookingFactory(
        service=haircut, start=start, customer_name="Maria", source_call_sid="CA123"
    )


def test_provider_after_booking_runs_with_the_context_rebuilt_from_the_booking(
    booking, recording_provider
):
    # The provider that made the booking runs its follow-up, even after ops switched the
    # business to another one.
    booking.provider = "recording"
    booking.save(update_fields=["provider"])
    task = enqueue_provider_after_booking(booking_id=booking.pk, provider="recording")

    run_due()

    assert refreshed(task).status == "done"
    [(context, booking_id)] = recording_provider.seen
    assert booking_id == booking.pk
    assert context.business == booking.business
    assert context.service == booking.service
    assert (context.start, context.end) == (booking.start, booking.end)
    assert (context.customer_name, context.customer_phone) == ("Maria", booking.customer_phone)
    assert context.call_sid == "CA123"


def test_provider_after_booking_is_enqueued_once_per_booking(booking):
    first = enqueue_provider_after_booking(booking_id=booking.pk)
    again = enqueue_provider_after_booking(booking_id=booking.pk)

    assert first.pk == again.pk
    assert first.kind == PROVIDER_AFTER_BOOKING
    assert first.dedupe_key == f"provider.after_booking:booking:{booking.pk}"


def test_after_booking_of_a_deleted_booking_fails_permanently(booking):
    task = enqueue_provider_after_booking(booking_id=booking.pk)
    Booking.objects.filter(pk=booking.pk).delete()

    run_due()

    task = refreshed(task)
    assert task.status == "failed"
    assert "no longer exists" in task.last_error


def test_after_booking_of_a_cancelled_booking_cleans_up_instead(booking, recording_provider):
    booking.provider = "recording"
    booking.status = Booking.Status.CANCELLED
    booking.save(update_fields=["provider", "status"])
    task = enqueue_provider_after_booking(booking_id=booking.pk)

    run_due()

    assert refreshed(task).status == "done"
    assert recording_provider.seen == [("cancel", booking.pk)]


def test_the_native_providers_follow_up_does_not_load_the_booking(booking):
    task = enqueue_provider_after_booking(booking_id=booking.pk, provider="native")

    with CaptureQueriesContext(connection) as queries:
        run_due()

    assert refreshed(task).status == "done"
    assert not [q for q in queries if "bookings_booking" in q["sql"]]


def test_a_follow_up_that_does_not_name_its_provider_runs_the_bookings_own(
    booking, recording_provider
):
    # E.g. a move: the new booking keeps the provider that made the old one.
    booking.provider = "recording"
    booking.save(update_fields=["provider"])
    enqueue_provider_after_booking(booking_id=booking.pk, provider="")

    run_due()

    assert [booking_id for _, booking_id in recording_provider.seen] == [booking.pk]


def test_a_provider_that_overrides_a_follow_up_is_asked_even_when_named(
    booking, recording_provider
):
    booking.provider = "recording"
    booking.save(update_fields=["provider"])
    enqueue_provider_after_booking(booking_id=booking.pk, provider="recording")

    run_due()

    assert NativeBookingProvider.keeps_nothing_outside()
    assert not recording_provider.keeps_nothing_outside()
    assert [booking_id for _, booking_id in recording_provider.seen] == [booking.pk]


# -- Recording outcomes ----------------------------------------------------------------------


def test_a_batchs_successes_are_recorded_in_one_statement(db, handlers):
    handlers.add("test.echo")
    handlers.add("test.flaky", fail_with=[ConnectionError("down")])
    echoes = [enqueue("test.echo", {}, dedupe_key=f"echo:{n}") for n in range(3)]
    flaky = enqueue("test.flaky", {}, dedupe_key="flaky:1")

    with CaptureQueriesContext(connection) as queries:
        assert run_due() == 4

    assert [refreshed(task).status for task in echoes] == ["done"] * 3
    assert (refreshed(flaky).status, refreshed(flaky).attempts) == ("pending", 1)
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    # The claim, the flaky one's retry, and the three successes together.
    assert len(updates) == 3


def test_a_batch_records_a_reclaimed_task_at_its_new_attempt_and_fresh_ones_at_theirs(
    db, handlers, monkeypatch
):
    handlers.add("test.echo")
    reclaimed = enqueue("test.echo", {}, dedupe_key="echo:reclaimed")
    [stalled] = claim_due(limit=1)  # its first runner stalls past the lease (attempt 1)
    fresh = [enqueue("test.echo", {}, dedupe_key=f"echo:{n}") for n in range(2)]
    late: list[str] = []

    def the_stalled_runner_succeeds_mid_batch(payload: dict) -> None:
        late.append(outbox.run_task(stalled))

    monkeypatch.setitem(outbox.TASKS, "test.late", the_stalled_runner_succeeds_mid_batch)
    witness = enqueue("test.late", {}, dedupe_key="late:1")

    with CaptureQueriesContext(connection) as queries:
        # Reclaims the stalled one (attempt 2) with the three fresh ones (attempt 1).
        assert run_due(now=later(minutes=6)) == 4

    assert late == ["running"]  # attempt 1's success came too late: attempt 2 owns it
    assert [(refreshed(t).status, t.attempts) for t in [reclaimed, *fresh, witness]] == [
        ("done", 2),
        ("done", 1),
        ("done", 1),
        ("done", 1),
    ]
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    # The claim, the stalled runner's refused success, and the batch's four together.
    assert len(updates) == 3


def test_a_batch_that_runs_past_half_its_lease_records_its_successes_before_going_on(
    db, handlers, monkeypatch
):
    seen: list[list[str]] = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        handlers.add("test.echo")
        monkeypatch.setitem(outbox.TASKS, "test.slow", lambda payload: clock.shift(SLOW))

        def look(payload: dict) -> None:
            seen.append([refreshed(task).status for task in (early, slow)])

        monkeypatch.setitem(outbox.TASKS, "test.look", look)
        early = enqueue("test.echo", {}, dedupe_key="echo:1")
        slow = enqueue("test.slow", {}, dedupe_key="slow:1")
        enqueue("test.look", {}, dedupe_key="look:1")
        quick = enqueue("test.echo", {}, dedupe_key="echo:2")

        assert run_due() == 4

    assert seen == [["done", "done"]]  # recorded before the task that ran past LEASE/2
    assert refreshed(quick).status == "done"


def test_a_finished_task_is_neither_run_again_nor_failed_when_its_batch_outlives_the_lease(
    db, handlers, monkeypatch
):
    other_worker: list[int] = []
    polled: list[bool] = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        handlers.add("test.echo")
        monkeypatch.setitem(outbox.TASKS, "test.slow", lambda payload: clock.shift(SLOW))

        def the_lease_runs_out_and_another_worker_polls(payload: dict) -> None:
            if polled:  # the other worker's run of this very task
                return
            polled.append(True)
            clock.shift(outbox.LEASE - SLOW + timedelta(seconds=1))
            other_worker.append(run_due())

        monkeypatch.setitem(outbox.TASKS, "test.last", the_lease_runs_out_and_another_worker_polls)
        last_try = enqueue("test.echo", {}, dedupe_key="echo:1", max_attempts=1)
        slow = enqueue("test.slow", {}, dedupe_key="slow:1")
        last = enqueue("test.last", {}, dedupe_key="last:1")

        assert run_due() == 3

    assert handlers.runs("test.echo") == 1
    assert other_worker == [1]  # only the task still running when the lease ran out
    assert [(refreshed(t).status, t.attempts) for t in (last_try, slow, last)] == [
        ("done", 1),
        ("done", 1),
        ("done", 2),
    ]


def test_a_success_that_comes_after_its_last_attempt_was_failed_for_the_lease_counts(
    db, handlers, monkeypatch
):
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def outlives_its_lease_while_another_worker_polls(payload: dict) -> None:
            clock.shift(outbox.LEASE + timedelta(seconds=1))
            assert run_due() == 0  # our last attempt: failed "Lease expired", not re-run

        monkeypatch.setitem(
            outbox.TASKS, "test.stuck", outlives_its_lease_while_another_worker_polls
        )
        task = enqueue("test.stuck", {}, dedupe_key="stuck:1", max_attempts=1)

        assert run_due() == 1

    task = refreshed(task)
    assert (task.status, task.last_error, task.attempts) == ("done", "", 1)


def test_the_lease_lost_warning_names_only_the_tasks_that_lost_it(db, handlers, caplog):
    handlers.add("test.echo")
    kept, lost = (enqueue("test.echo", {}, dedupe_key=f"echo:{n}") for n in range(2))
    claimed = claim_due(limit=2)
    OutboxTask.objects.filter(pk=lost.pk).update(attempts=2)  # another runner reclaimed it

    assert outbox._record_done(claimed) is False

    [warning] = [r.getMessage() for r in caplog.records if "lost their lease" in r.message]
    assert warning.startswith("1 of 2 tasks") and "[echo:1]" in warning
    assert "[echo:0]" not in warning
    assert [refreshed(task).status for task in (kept, lost)] == ["done", "running"]
