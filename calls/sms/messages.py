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
    return _about(booking, "is booked for {when}", "To change it")


def booking_moved(booking: Booking) -> str:
    """For the new booking a move made (the old one is cancelled silently with it)."""
    return _about(booking, "has moved to {when}", "To change it")


def booking_cancelled(booking: Booking) -> str:
    return _about(booking, "on {when} is cancelled", "To book again")


def _about(booking: Booking, news: str, then: str) -> str:
    business = booking.business
    when = spoken_datetime(booking.start.astimezone(business.tz))
    greeting = f"Hi {booking.customer_name}, your" if booking.customer_name else "Your"
    return (
        f"{greeting} {booking.service.name} at {business.name} {news.format(when=when)}. "
        f"{then}, call {business.phone_number}."
    )
