"""A business's connection to one Google account's calendars, tokens encrypted at rest."""

from __future__ import annotations

from django.db import models

from bookings.models import Booking, Business
from integrations.calendar_base.models import (
    UNREADABLE_TOKEN,
    UNREADABLE_TOKENS_TEXT,
    CalendarConnection,
    EventSync,
    TokenField,
)

__all__ = ["UNREADABLE_TOKEN", "UNREADABLE_TOKENS_TEXT", "TokenField"]

PRIMARY = "primary"


def default_busy_calendars() -> list[str]:
    return [PRIMARY]


class GoogleCalendarConnection(CalendarConnection):
    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="google_calendar"
    )
    write_calendar_id = models.CharField(
        "calendar events are written to", max_length=255, default=PRIMARY
    )
    busy_calendar_ids = models.JSONField(
        "calendars checked for busy times", default=default_busy_calendars, blank=True
    )

    class Meta:
        verbose_name = "Google Calendar connection"


class CalendarEventSync(EventSync):
    """A booking's event in the business's Google Calendar (see EventSync)."""

    booking = models.OneToOneField(
        Booking,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="calendar_event_sync",
    )

    class Meta:
        verbose_name = "calendar event"
