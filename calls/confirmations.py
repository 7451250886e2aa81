"""What follows a booking made on a call: the customer's text and the provider's
after_booking (e.g. a calendar event). Queued durably, run off the call's critical path."""

from __future__ import annotations

import logging

from bookings.orm import run_orm
from bookings.outbox import nudge
from bookings.providers.base import BookingContext, BookingProvider
from bookings.tasks import enqueue_provider_after_booking
from calls.sms.models import SmsMessage
from calls.sms.tasks import enqueue_booking_change_text, enqueue_booking_confirmation

logger = logging.getLogger(__name__)


async def after_booked(
    *, provider: BookingProvider, context: BookingContext, booking_id: int, moved: bool = False
) -> None:
    """Called by the dialogue engine right after create_booking succeeded. Returns fast:
    enqueues the durable tasks (SMS confirmation; provider.after_booking) and nudges the
    in-process runner so they usually run within a second, off the call's critical path."""
    try:
        await run_orm(queue_follow_ups)(booking_id=booking_id, provider=provider.name, moved=moved)
    except Exception:
        # The booking stands whatever happens here; the caller still hears the confirmation.
        logger.exception(
            "Could not queue the follow-ups of booking %s (call %s): no text or calendar "
            "event will be sent for it.",
            booking_id,
            context.call_sid,
        )


async def after_moved(
    *, provider: BookingProvider, context: BookingContext, booking_id: int
) -> None:
    """As after_booked, for the new booking a move made: its text says the booking moved."""
    await after_booked(provider=provider, context=context, booking_id=booking_id, moved=True)


def queue_follow_ups(*, booking_id: int, provider: str, moved: bool = False) -> list[int]:
    """Enqueue (idempotently) everything a new booking needs and nudge the runner."""
    text = (
        enqueue_booking_change_text(booking_id=booking_id, kind=SmsMessage.Kind.BOOKING_MOVED)
        if moved
        else enqueue_booking_confirmation(booking_id=booking_id)
    )
    tasks = [
        text,
        enqueue_provider_after_booking(booking_id=booking_id, provider=provider),
    ]
    ids = [task.pk for task in tasks]
    nudge(ids)
    return ids
