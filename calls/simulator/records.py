"""What a simulated call left behind, as plain data for the page and the terminal.

Read from the Call row once the session has closed, so the outcome and booking shown are the
ones staff will find in admin, not what the engine believed a moment earlier.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse

from bookings.models import Booking
from calls.models import Call


def call_admin_url(call_id: int) -> str:
    return reverse("admin:calls_call_change", args=[call_id])


def call_summary(call_id: int) -> dict:
    """{"outcome", "outcome_label", "call_admin_url", "booking": booking_summary | None}."""
    call = Call.objects.select_related("booking__service", "booking__business", "business").get(
        pk=call_id
    )
    return {
        "outcome": call.outcome,
        "outcome_label": call.get_outcome_display(),
        "call_admin_url": call_admin_url(call.pk),
        "booking": booking_summary(call.booking) if call.booking else None,
    }


def booking_summary(booking: Booking) -> dict:
    """The booking as the business sees it: its local date and time, its zone named."""
    local = booking.start.astimezone(booking.business.tz)
    return {
        "id": booking.pk,
        "service": booking.service.name,
        "date": _spoken_date(local),
        "time": _clock_time(local),
        "timezone": local.tzname() or booking.business.timezone,
        "start_local": local.isoformat(),
        "name": booking.customer_name,
        "phone": booking.customer_phone,
        "status": booking.status,
        "admin_url": reverse("admin:bookings_booking_change", args=[booking.pk]),
    }


# Spelled out rather than strftime's %A/%B, which follow the server locale.
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]  # fmt: skip


def _spoken_date(moment: datetime) -> str:
    weekday, month = _WEEKDAYS[moment.weekday()], _MONTHS[moment.month - 1]
    return f"{weekday}, {month} {moment.day}, {moment.year}"


def _clock_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
