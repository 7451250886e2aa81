"""Reminder texts: once per booking, `Business.reminder_hours` before it starts.

`run_worker` looks every REMINDER_SWEEP_EVERY for confirmed bookings whose reminder time has
come and queues one outbox task each; the task texts the customer (calls.sms.services). Looking
at the bookings as they are then, rather than scheduling a text when each booking is made,
covers every way a booking changes: made on a call or in admin, moved (a move makes a new
booking, which gets its own reminder at the new time), its time edited by staff, cancelled
(a cancelled booking is never picked, and a queued text checks again before it goes).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F, QuerySet

from bookings.models import Booking, Business
from bookings.outbox import enqueue
from bookings.periodic import register_periodic
from calls.sms.models import SmsMessage

SMS_BOOKING_REMINDER = "sms.booking_reminder"
REMINDER_SWEEP_EVERY = timedelta(seconds=30)


def due_reminders(business: Business, now: datetime) -> QuerySet[Booking]:
    """The business's confirmed bookings whose reminder time has come, that were booked
    before it came (a booking made inside the window gets none), and have no reminder."""
    lead = business.reminder_lead
    return (
        Booking.objects.confirmed()
        .filter(
            business=business,
            start__gt=now,
            start__lte=now + lead,
            created_at__lte=F("start") - lead,
        )
        .exclude(sms_messages__kind=SmsMessage.Kind.BOOKING_REMINDER)
    )


def reminder_key(booking_id: int, start: datetime) -> str:
    # The start is part of the key: staff moving a booking's time queue a new reminder.
    return f"sms:reminder:{booking_id}:{start:%Y%m%dT%H%M%S%z}"


@register_periodic("sms.queue_reminders", every=REMINDER_SWEEP_EVERY)
def queue_due_reminders(now: datetime) -> int:
    """Queue a reminder task for every booking whose reminder is due; returns how many
    bookings were due (queueing one already queued is a no-op)."""
    count = 0
    for business in Business.objects.filter(is_active=True, reminder_hours__gt=0):
        for booking_id, start in due_reminders(business, now).values_list("pk", "start"):
            enqueue(
                SMS_BOOKING_REMINDER,
                {"booking_id": booking_id, "start": start.isoformat()},
                dedupe_key=reminder_key(booking_id, start),
            )
            count += 1
    return count
