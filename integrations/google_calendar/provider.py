"""GoogleCalendarProvider: the native checks plus the connected calendars' busy times, from
Google's FreeBusy. Degradation, the in-call prefetch and the live re-check before booking are
the shared CalendarSourceProvider's (integrations.calendar_base.provider)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from integrations.calendar_base.provider import CalendarAnswer, CalendarSourceProvider
from integrations.google_calendar import connections, event_sync
from integrations.google_calendar.client import CalendarClient
from integrations.google_calendar.models import PRIMARY, GoogleCalendarConnection

# In a call the caller is waiting (settings.GOOGLE_IN_CALL_TIMEOUT): fail fast and degrade
# rather than retry for long.
IN_CALL_RETRIES = 1


def in_call_timeout() -> float:
    return settings.GOOGLE_IN_CALL_TIMEOUT


class GoogleCalendarProvider(CalendarSourceProvider):
    name = "google_calendar"
    label = "Google Calendar (our bookings, opening hours and the calendar's busy times)"
    store = connections.store
    syncer = event_sync.syncer

    async def ask_calendar(
        self, connection: GoogleCalendarConnection, start: datetime, end: datetime
    ) -> CalendarAnswer:
        client = CalendarClient(connection, timeout=in_call_timeout(), num_retries=IN_CALL_RETRIES)
        calendars = connection.busy_calendar_ids or [PRIMARY]
        free_busy = await client.afree_busy(calendars, start, end)
        return CalendarAnswer(busy=list(free_busy.busy), unknown=free_busy.unknown)
