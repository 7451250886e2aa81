"""What follows a booking made on a call: the call's link to it, the customer's text and the
provider's after_booking (e.g. a calendar event).

The link and the text are written in the booking's own transaction (`record_booking_made_on_call`,
a `bookings.signals.booking_made` receiver): a process killed right after the commit still
leaves a call that says "booked" with its booking, and a text that will go out. The follow-ups
then run off the call's critical path, durably, from the outbox.
"""

from __future__ import annotations

import logging

from bookings.models import Booking, OutboxTask
from bookings.orm import run_orm
from bookings.outbox import enqueue_together, nudge
from bookings.providers.base import BookingContext, BookingProvider
from bookings.tasks import provider_after_booking_task
from calls.models import Call
from calls.sms.models import SmsMessage
from calls.sms.tasks import booking_change_text_task, booking_confirmation_task

logger = logging.getLogger(__name__)


def record_booking_made_on_call(
    sender: type, *, booking: Booking, replaces: Booking | None = None, **kwargs: object
) -> list[OutboxTask]:
    """In the booking's transaction: the call it is being made on links it and is settled as
    booked or moved (the conversation may still settle it otherwise when it ends, e.g. a later
    cancellation), and the customer's confirmation text is returned for book_slot to queue.
    A call that has ended is never touched (finished calls don't change)."""
    if not booking.source_call_sid:
        return []
    outcome = Call.Outcome.MOVED if replaces is not None else Call.Outcome.BOOKED
    linked = Call.objects.filter(
        sid=booking.source_call_sid, business_id=booking.business_id, ended_at__isnull=True
    ).update(booking=booking, outcome=outcome)
    return [_text_task(booking_id=booking.pk, moved=replaces is not None)] if linked else []


async def after_booked(
    *, provider: BookingProvider, context: BookingContext, booking_id: int, moved: bool = False
) -> None:
    """Called by the dialogue engine right after create_booking succeeded. Returns fast:
    makes sure the durable tasks are queued (SMS confirmation, already queued with the
    booking; provider.after_booking) and nudges the in-process runner so they usually run
    within a second, off the call's critical path."""
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


def _text_task(*, booking_id: int, moved: bool) -> OutboxTask:
    if moved:
        return booking_change_text_task(booking_id=booking_id, kind=SmsMessage.Kind.BOOKING_MOVED)
    return booking_confirmation_task(booking_id=booking_id)


def queue_follow_ups(*, booking_id: int, provider: str, moved: bool = False) -> None:
    """Enqueue (idempotently, in one statement) everything a new booking needs and nudge
    the runner."""
    # The provider that made a new booking is the call's; a moved booking keeps the one
    # that made it first, which the task looks up.
    made_by = "" if moved else provider
    tasks = [
        _text_task(booking_id=booking_id, moved=moved),
        provider_after_booking_task(booking_id=booking_id, provider=made_by),
    ]
    enqueue_together(tasks)
    nudge(tasks)
