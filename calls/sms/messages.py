"""The words of our texts. Short (one SMS segment when names allow) and plain GSM-7: no
curly quotes or emoji, which would switch the whole text to UCS-2 and halve its length."""

from __future__ import annotations

from datetime import datetime

from bookings.models import Booking


def spoken_datetime(local: datetime) -> str:
    """'Tue, Nov 24 at 3:00 PM': how a person writes a time, in the zone it is given in."""
    hour = local.hour % 12 or 12
    meridiem = "AM" if local.hour < 12 else "PM"
    return f"{local:%a, %b} {local.day} at {hour}:{local:%M} {meridiem}"


def booking_confirmation(booking: Booking) -> str:
    business = booking.business
    when = spoken_datetime(booking.start.astimezone(business.tz))
    greeting = f"Hi {booking.customer_name}, your" if booking.customer_name else "Your"
    return (
        f"{greeting} {booking.service.name} at {business.name} is booked for {when}. "
        f"To change it, call {business.phone_number}."
    )


def booking_moved(booking: Booking) -> str:
    """For the new booking a move made (the old one is cancelled silently with it)."""
    business = booking.business
    when = spoken_datetime(booking.start.astimezone(business.tz))
    greeting = f"Hi {booking.customer_name}, your" if booking.customer_name else "Your"
    return (
        f"{greeting} {booking.service.name} at {business.name} has moved to {when}. "
        f"To change it, call {business.phone_number}."
    )


def booking_cancelled(booking: Booking) -> str:
    business = booking.business
    when = spoken_datetime(booking.start.astimezone(business.tz))
    greeting = f"Hi {booking.customer_name}, your" if booking.customer_name else "Your"
    return (
        f"{greeting} {booking.service.name} at {business.name} on {when} is cancelled. "
        f"To book again, call {business.phone_number}."
    )
