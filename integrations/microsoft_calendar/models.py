"""A business's connection to one Microsoft account's Outlook calendar, tokens encrypted at
rest (see integrations.calendar_base.models), and each booking's event there."""

from __future__ import annotations

from django.db import models

from bookings.models import Booking, Business
from integrations.calendar_base.models import CalendarConnection, EventSync

# Events go to the account's default calendar unless staff choose another.
DEFAULT_CALENDAR = ""


class OutlookCalendarConnection(CalendarConnection):
    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="outlook_calendar"
    )
    write_calendar_id = models.CharField(
        "calendar events are written to",
        max_length=255,
        blank=True,
        default=DEFAULT_CALENDAR,
        help_text="Empty: the account's default calendar.",
    )
    write_calendar_name = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "Outlook Calendar connection"


class OutlookEventSync(EventSync):
    """A booking's event in the business's Outlook calendar (see EventSync)."""

    booking = models.OneToOneField(
        Booking,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="outlook_event_sync",
    )

    class Meta:
        verbose_name = "Outlook calendar event"
