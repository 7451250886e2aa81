"""GoogleCalendarProvider: the native checks plus the connected calendars' busy times."""

from __future__ import annotations

from bookings.providers.native import NativeBookingProvider


class GoogleCalendarProvider(NativeBookingProvider):
    name = "google_calendar"
    label = "Google Calendar (our bookings, opening hours and the calendar's busy times)"
