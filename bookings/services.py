"""Writes to bookings. The one place a booking is made or cancelled."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from bookings.models import Booking, Business, Service
from bookings.outbox import enqueue_together, nudge
from bookings.providers.registry import provider_named, provider_that_made, resolve_provider
from bookings.signals import booking_made
from bookings.slots import Interval, Refusal, check_slot, overlaps
from bookings.tasks import (
    enqueue_provider_after_booking,
    enqueue_provider_after_cancel,
    provider_after_booking_task,
)

logger = logging.getLogger(__name__)

# Postgres SQLSTATEs: the no-overlap exclusion constraint (migration 0002) refused the row;
# deadlock / serialization failure between concurrent booking transactions.
EXCLUSION_VIOLATION = "23P01"
RETRYABLE = {"40P01", "40001"}
RETRIES_ON_CONFLICT = 10


@dataclass(frozen=True)
class BookingOutcome:
    booking: Booking | None
    refusal: Refusal | None = None


def busy_intervals(
    business: Business, start: datetime, end: datetime, *, exclude_id: int | None = None
) -> list[Interval]:
    """Our confirmed bookings of the business overlapping [start, end), each with its
    service's cleanup buffer, except `exclude_id` (a booking being moved: its own old time
    doesn't stand in its way)."""
    rows = Booking.objects.confirmed().filter(business=business).overlapping(start, end)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return list(rows.values_list("start", "blocked_until"))


def buffer_until(service: Service, end: datetime) -> datetime | None:
    """What a new booking's `buffer_until` is: the end of its service's cleanup, if any."""
    return end + service.buffer if service.buffer_minutes else None


def book_slot(
    *,
    business: Business,
    service: Service,
    start: datetime,
    customer_name: str,
    customer_phone: str,
    provider: str,
    call_sid: str = "",
    replaces: Booking | None = None,
    now: datetime | None = None,
    owner_checked: bool = False,
) -> BookingOutcome:
    """Book `service` at `start` unless the rules or another booking forbid it (`replaces`:
    the booking a move cancels in the same transaction). `owner_checked`: the provider's
    source of truth (e.g. Calendly) already booked this time under its own rules, so only
    the no-overlap guarantee is applied here, not our opening hours and notice.

    No two confirmed bookings of a business overlap, whatever the concurrency: on SQLite the
    transaction begins IMMEDIATE (the write lock is held from the overlap check to the
    insert); on Postgres a concurrent winner makes our insert violate the exclusion
    constraint, which we report as TAKEN rather than raise. Provider `provider` makes it,
    and its follow-up (e.g. a calendar event) is queued in the booking's own transaction.
    """
    end = start + service.duration
    # The rules as they are now: staff may have changed them since the caller's call began
    # (this process's copy of the schedule serves unless they did: bookings.schedules).
    current = Business.objects.only(*Business.SCHEDULE_FIELDS).get(pk=business.pk)
    schedule = current.schedule().for_service(service.pk)
    for attempt in range(1, RETRIES_ON_CONFLICT + 1):
        try:
            with transaction.atomic():
                # On Postgres too, though the exclusion constraint is the guarantee: a loser
                # that reads the winner refuses without inserting, where concurrent inserts
                # of overlapping slots deadlock each other in the constraint's check and use
                # up their retries (test_double_booking's overlapping race).
                busy = busy_intervals(business, start, end + schedule.buffer)
                if owner_checked:
                    taken = overlaps(start, end + schedule.buffer, busy)
                    refusal = Refusal.TAKEN if taken else None
                else:
                    refusal = check_slot(schedule, start, end, busy, now or timezone.now())
                if refusal is not None:
                    return BookingOutcome(booking=None, refusal=refusal)
                booking = Booking.objects.create(
                    business=business,
                    service=service,
                    customer_name=customer_name,
                    customer_phone=customer_phone,
                    start=start,
                    end=end,
                    buffer_until=buffer_until(service, end),
                    provider=provider,
                    source_call_sid=call_sid,
                )
                # In the booking's own transaction, in one statement: a booking that needs
                # its calendar event (or the receivers' text) always has the task that
                # writes it, whatever crashes next.
                tasks = []
                if provider_named(provider, business).on_booked(booking):
                    tasks.append(
                        provider_after_booking_task(booking_id=booking.pk, provider=provider)
                    )
                for _, queued in booking_made.send(
                    sender=Booking, booking=booking, replaces=replaces
                ):
                    tasks.extend(queued or ())
                enqueue_together(tasks)
            return BookingOutcome(booking=booking)
        except IntegrityError as exc:
            if _sqlstate(exc) != EXCLUSION_VIOLATION:
                raise
            return BookingOutcome(booking=None, refusal=Refusal.TAKEN)
        except OperationalError as exc:
            # Concurrent inserts checking the exclusion constraint can deadlock each other;
            # Postgres aborts one. Run it again: it will now see the winner and refuse.
            if _sqlstate(exc) not in RETRYABLE or attempt == RETRIES_ON_CONFLICT:
                raise
            logger.info("Booking transaction conflict (%s), retrying.", _sqlstate(exc))
            # Jittered, growing pauses: transactions that deadlocked together must not
            # retry in lockstep and deadlock again.
            time.sleep(random.uniform(0, 0.01 * attempt))
    raise AssertionError("unreachable")


@transaction.atomic
def cancel_booking(*, booking: Booking) -> Booking:
    """Cancel, and queue the provider's clean-up (e.g. deleting the calendar event) for when
    the cancellation commits; a move that rolls back leaves the event alone."""
    if booking.status != Booking.Status.CANCELLED:
        booking.status = Booking.Status.CANCELLED
        booking.save(update_fields=["status", "updated_at"])
        if provider_that_made(booking).on_cancelled(booking):
            enqueue_provider_after_cancel(booking_id=booking.pk, provider=booking.provider)
    return booking


@transaction.atomic
def save_staff_booking(
    *, booking: Booking, previous_status: str | None = None, changed: bool = False
) -> Booking:
    """A booking staff made or edited in admin gets the same follow-ups as one made on a
    call: a new one is the business's provider's (e.g. it gets its calendar event), and a
    cancellation undoes them. The overlap rule is the admin form's to enforce."""
    cancelling = (
        previous_status == Booking.Status.CONFIRMED and booking.status == Booking.Status.CANCELLED
    )
    is_new = booking.pk is None
    if is_new:
        booking.provider = resolve_provider(booking.business).name
    maker = provider_that_made(booking)
    if cancelling:
        booking.status = Booking.Status.CONFIRMED  # cancel_booking makes the change
    booking.save()
    if cancelling:
        cancel_booking(booking=booking)
        return booking
    if booking.status != Booking.Status.CONFIRMED:
        return booking
    if is_new and maker.on_booked(booking):
        revision = ""
    elif not is_new and changed and maker.on_changed(booking):
        # Its event must follow the change (time, service, customer details).
        revision = f"change-{booking.updated_at:%Y%m%d%H%M%S%f}"
    else:
        return booking
    task = enqueue_provider_after_booking(
        booking_id=booking.pk, provider=booking.provider, revision=revision
    )
    nudge([task.pk])
    return booking


def _sqlstate(exc: Exception) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def upcoming_bookings(
    *, business: Business, phone: str, now: datetime | None = None
) -> list[Booking]:
    """The caller's confirmed future bookings at this business, soonest first."""
    return list(
        Booking.objects.confirmed()
        .filter(business=business, customer_phone=phone, start__gt=now or timezone.now())
        .select_related("service")
        .order_by("start")
    )


def name_on_file(*, business: Business, phone: str) -> str:
    """The name on the caller's most recently made booking at this business (kept, moved,
    cancelled or past), or "" when this number has booked nothing under a name."""
    latest = (
        Booking.objects.filter(business=business, customer_phone=phone)
        .exclude(customer_name="")
        .order_by("-created_at", "-pk")
        .values_list("customer_name", flat=True)
        .first()
    )
    return latest or ""


class BookingChanged(Exception):
    """A booking read back to the caller is not as they heard it any more (staff moved it,
    changed its service or cancelled it since): nothing was written. `now` is the booking as
    it is now (None: it is gone)."""

    def __init__(self, read: Booking, now: Booking | None) -> None:
        super().__init__(read.pk)
        self.read = read
        self.now = now


def locked_as_read_back(bookings: Sequence[Booking]) -> list[Booking]:
    """These bookings read again under a row lock, in the order given, for the write the
    caller just agreed to: each still confirmed at the start and service read back to them.
    Call it inside the write's transaction (the lock holds until it ends); a booking that
    differs raises BookingChanged, so the whole set is refused."""
    locked = Booking.objects.select_for_update().select_related("business", "service")
    fresh = locked.in_bulk([b.pk for b in bookings])
    for read in bookings:
        now = fresh.get(read.pk)
        if (
            now is None
            or now.status != Booking.Status.CONFIRMED
            or now.start != read.start
            or now.service_id != read.service_id
        ):
            raise BookingChanged(read, now)
    return [fresh[b.pk] for b in bookings]


class SlotRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal)
        self.refusal = refusal


def move_booking(
    *,
    booking: Booking,
    start: datetime,
    call_sid: str = "",
    owner_checked: bool = False,
    provider: str | None = None,
) -> BookingOutcome:
    """Move a booking to `start` atomically: the old slot is freed only if the new one is
    booked (the booking may move into its own old time). `owner_checked` as in book_slot.
    `provider`: whose the new booking is (default the old booking's; a business that
    switched providers since books the new time through its current one). `booking` as
    read back to the caller: if it has changed since, BookingChanged and nothing moves."""
    try:
        with transaction.atomic():
            current = locked_as_read_back([booking])[0]
            cancel_booking(booking=current)
            outcome = book_slot(
                business=current.business,
                service=current.service,
                start=start,
                customer_name=current.customer_name,
                customer_phone=current.customer_phone,
                provider=current.provider if provider is None else provider,
                call_sid=call_sid or current.source_call_sid,
                replaces=current,
                owner_checked=owner_checked,
            )
            if outcome.booking is None:
                raise SlotRefused(outcome.refusal or Refusal.TAKEN)
    except SlotRefused as refused:
        return BookingOutcome(booking=None, refusal=refused.refusal)
    booking.status = current.status  # the caller's copy says it is cancelled, as it is
    return outcome
