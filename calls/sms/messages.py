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


def _greeting(booking: Booking, then: str) -> str:
    return f"Hi {booking.customer_name}, {then}" if booking.customer_name else then.capitalize()


def booking_reminder(booking: Booking) -> str:
    business = booking.business
    when = spoken_datetime(booking.start.astimezone(business.tz))
    return (
        f"{_greeting(booking, 'a reminder: your')} {booking.service.name_in_sentence} at "
        f"{business.name} is on {when}. Reply Y to confirm or C to cancel."
    )


def confirmed_by_text(booking: Booking) -> str:
    when = spoken_datetime(booking.start.astimezone(booking.business.tz))
    return f"Thanks, see you on {when} at {booking.business.name}."


def which_booking_unclear(business) -> str:
    return (
        f"Sorry, we couldn't tell which appointment you mean. "
        f"Please call {business.phone_number} and we'll sort it out."
    )


def booking_confirmation(booking: Booking) -> str:
    business = booking.business
    when = spoken_datetime(booking.start.astimezone(business.tz))
    greeting = f"Hi {booking.customer_name}, your" if booking.customer_name else "Your"
    return (
        f"{greeting} {booking.service.name_in_sentence} at {business.name} is booked for {when}. "
        f"To change it, call {business.phone_number}."
    )


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
        f"{greeting} {booking.service.name_in_sentence} at {business.name} "
        f"{news.format(when=when)}. {then}, call {business.phone_number}."
    )
