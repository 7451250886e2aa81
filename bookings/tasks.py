"""Outbox tasks owned by bookings: the provider's after_booking (e.g. a calendar event).

Registered on import; bookings' AppConfig.ready() imports this module so that every process
(Daphne and run_worker) knows the kind.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync

from bookings.models import Booking, OutboxTask
from bookings.outbox import (
    PermanentTaskError,
    enqueue,
    nudge,
    outbox_task,
    register_task,
    retry_now,
)
from bookings.providers.base import BookingContext
from bookings.providers.registry import PROVIDERS, provider_that_made

logger = logging.getLogger(__name__)

PROVIDER_AFTER_BOOKING = "provider.after_booking"
PROVIDER_AFTER_CANCEL = "provider.after_cancel"


def after_booking_dedupe_key(booking_id: int) -> str:
    return f"{PROVIDER_AFTER_BOOKING}:booking:{booking_id}"


def provider_after_booking_task(
    *, booking_id: int, provider: str = "", revision: str = ""
) -> OutboxTask:
    """Once per booking; a `revision` (e.g. staff changed its time) queues it once more.
    `provider`: the provider that made the booking, when known ("" looks it up); one whose
    follow-ups do nothing is not asked."""
    key = after_booking_dedupe_key(booking_id)
    return outbox_task(
        PROVIDER_AFTER_BOOKING,
        {"booking_id": booking_id, "provider": provider},
        dedupe_key=f"{key}:{revision}" if revision else key,
    )


def enqueue_provider_after_booking(
    *, booking_id: int, provider: str = "", revision: str = ""
) -> OutboxTask:
    task = provider_after_booking_task(booking_id=booking_id, provider=provider, revision=revision)
    return enqueue(task.kind, task.payload, dedupe_key=task.dedupe_key)


def after_cancel_dedupe_key(booking_id: int) -> str:
    return f"{PROVIDER_AFTER_CANCEL}:booking:{booking_id}"


def provider_follow_ups(booking_ids: list[int]):
    """The outbox tasks of these bookings' provider follow-ups, newest first."""
    return OutboxTask.objects.filter(
        kind__in=[PROVIDER_AFTER_BOOKING, PROVIDER_AFTER_CANCEL],
        payload__booking_id__in=list(booking_ids),
    ).order_by("-pk")


def retry_provider_follow_ups(booking_ids: list[int]) -> list[int]:
    """Run the provider follow-ups (after_booking / after_cancel) of these bookings again now,
    e.g. staff pressed "retry" or the calendar was reconnected. Returns the task ids."""
    return retry_now(provider_follow_ups(booking_ids))


def enqueue_provider_after_cancel(*, booking_id: int, provider: str) -> OutboxTask:
    task = enqueue(
        PROVIDER_AFTER_CANCEL,
        {"booking_id": booking_id, "provider": provider},
        dedupe_key=after_cancel_dedupe_key(booking_id),
    )
    nudge([task.pk])
    return task


@register_task(PROVIDER_AFTER_BOOKING)
def run_provider_after_booking(payload: dict[str, Any]) -> None:
    booking_id = payload["booking_id"]
    made_by = PROVIDERS.get(payload.get("provider", ""))
    if made_by is not None and made_by.keeps_nothing_outside():
        return  # e.g. the native provider's: nothing to write or undo, no booking to load
    booking = Booking.objects.select_related("business", "service").filter(pk=booking_id).first()
    if booking is None:
        raise PermanentTaskError(f"Booking {booking_id} no longer exists.")
    provider = provider_that_made(booking)
    context = BookingContext.from_booking(booking)
    if booking.status == Booking.Status.CANCELLED:
        # Cancelled while (or before) its follow-up ran: whatever was written outside our
        # database (an event inserted as the cancellation's own clean-up ran) must go too.
        logger.info("Booking %s was cancelled before its after_booking finished.", booking_id)
        async_to_sync(provider.after_cancel)(context, booking.pk)
        return
    async_to_sync(provider.after_booking)(context, booking.pk)


@register_task(PROVIDER_AFTER_CANCEL)
def run_provider_after_cancel(payload: dict[str, Any]) -> None:
    booking_id = payload["booking_id"]
    booking = Booking.objects.select_related("business", "service").filter(pk=booking_id).first()
    if booking is None:
        raise PermanentTaskError(f"Booking {booking_id} no longer exists.")
    provider = provider_that_made(booking)
    async_to_sync(provider.after_cancel)(BookingContext.from_booking(booking), booking.pk)
