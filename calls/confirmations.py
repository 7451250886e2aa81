"""What follows a booking made on a call: the customer's text, queued durably and sent off
the call's critical path."""

from __future__ import annotations

import logging

from bookings.orm import run_orm
from bookings.outbox import nudge
from bookings.providers.base import BookingContext, BookingProvider
from calls.sms.tasks import enqueue_booking_confirmation

logger = logging.getLogger(__name__)


async def after_booked(
    *, provider: BookingProvider, context: BookingContext, booking_id: int
) -> None:
    """Called by the dialogue engine right after create_booking succeeded. Returns fast:
    enqueues the durable text; an outbox worker sends it off the call's critical path. (The
    provider's own follow-up, e.g. a calendar event, was queued with the booking, in its
    transaction, when the provider has one: bookings.services.book_slot.)"""
    try:
        await run_orm(queue_follow_ups)(booking_id=booking_id)
    except Exception:
        # The booking stands whatever happens here; the caller still hears the confirmation.
        logger.exception(
            "Could not queue the follow-ups of booking %s (call %s): no text or calendar "
            "event will be sent for it.",
            booking_id,
            context.call_sid,
        )


def queue_follow_ups(*, booking_id: int) -> list[int]:
    """Enqueue (idempotently) the customer's text and nudge the in-process worker, if any."""
    ids = [enqueue_booking_confirmation(booking_id=booking_id).pk]
    nudge(ids)
    return ids
