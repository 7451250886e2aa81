"""Outbox tasks owned by bookings: the provider's after_booking (e.g. a calendar event).

Registered on import; bookings' AppConfig.ready() imports this module so that every process
(Daphne and run_worker) knows the kind.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync

from bookings.models import Booking, OutboxTask
from bookings.outbox import PermanentTaskError, enqueue, register_task
from bookings.providers.base import BookingContext
from bookings.providers.registry import resolve_provider

logger = logging.getLogger(__name__)

PROVIDER_AFTER_BOOKING = "provider.after_booking"


def enqueue_provider_after_booking(*, booking_id: int, provider: str = "") -> OutboxTask:
    return enqueue(
        PROVIDER_AFTER_BOOKING,
        {"booking_id": booking_id, "provider": provider},
        dedupe_key=f"{PROVIDER_AFTER_BOOKING}:booking:{booking_id}",
    )


@register_task(PROVIDER_AFTER_BOOKING)
def run_provider_after_booking(payload: dict[str, Any]) -> None:
    booking_id = payload["booking_id"]
    booking = Booking.objects.select_related("business", "service").filter(pk=booking_id).first()
    if booking is None:
        raise PermanentTaskError(f"Booking {booking_id} no longer exists.")
    if booking.status == Booking.Status.CANCELLED:
        logger.info("Booking %s was cancelled before its after_booking ran; skipped.", booking_id)
        return
    # The business's provider now, which is the one that must hold the event (ops may have
    # switched it, e.g. to the native one while a calendar is disconnected).
    provider = resolve_provider(booking.business)
    async_to_sync(provider.after_booking)(BookingContext.from_booking(booking), booking.pk)
