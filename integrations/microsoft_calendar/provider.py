"""OutlookCalendarProvider: the native checks plus the Outlook account's busy times, from
Graph's calendarView. Degradation, the in-call prefetch and the live re-check before booking
are the shared CalendarSourceProvider's (integrations.calendar_base.provider)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from integrations.calendar_base.provider import CalendarAnswer, CalendarSourceProvider
from integrations.microsoft_calendar import connections, event_sync
from integrations.microsoft_calendar.client import GraphClient
from integrations.microsoft_calendar.models import OutlookCalendarConnection

# In a call the caller is waiting (settings.MICROSOFT_IN_CALL_TIMEOUT): fail fast and degrade
# rather than retry for long.
IN_CALL_RETRIES = 1


class OutlookCalendarProvider(CalendarSourceProvider):
    name = "outlook_calendar"
    label = "Outlook Calendar (our bookings, opening hours and the Microsoft 365 calendar)"
    store = connections.store
    syncer = event_sync.syncer

    async def ask_calendar(
        self, connection: OutlookCalendarConnection, start: datetime, end: datetime
    ) -> CalendarAnswer:
        client = GraphClient(
            connection,
            timeout=settings.MICROSOFT_IN_CALL_TIMEOUT,
            num_retries=IN_CALL_RETRIES,
            inline_wait=0,  # a throttled Graph degrades the answer at once
        )
        return await client.aget_schedule(start, end)
