"""What follows a booking made on a call: the customer's text and the provider's
after_booking (e.g. a calendar event). Queued durably, run off the call's critical path."""

from __future__ import annotations

import logging

from bookings.orm import run_orm
from bookings.outbox import nudge
from bookings.providers.base import BookingContext, BookingProvider
from bookings.tasks import enqueue_provider_after_booking
from calls.sms.tasks import enqueue_booking_confirmation

logger = logging.getLogger(__name__)


async def after_booked(
    *, provider: BookingProvider, context: BookingContext, booking_id: int
) -> None:
    """Called by the dialogue engine right after create_booking succeeded. Returns fast:
    enqueues the durable tasks (SMS confirmation; provider.after_booking) and nudges the
    in-process runner so they usually run within a second, off the call's critical path."""
    try:
        await run_orm(queue_follow_ups)(booking_id=booking_id, provider=provider.name)
    except Exception:
        # The booking stands whatever happens here; the caller still hears the confirmation.
        logger.exception(
            "Could not queue the follow-ups of booking %s (call %s): no text or calendar "
            "event will be sent for it.",
            booking_id,
            context.call_sid,
        )


def queue_follow_ups(*, booking_id: int, provider: str) -> list[int]:
    """Enqueue (idempotently) everything a new booking needs and nudge the runner."""
    tasks = [
        enqueue_booking_confirmation(booking_id=booking_id),
        enqueue_provider_after_booking(booking_id=booking_id, provider=provider),
    ]
    ids = [task.pk for task in tasks]
    nudge(ids)
    return ids
