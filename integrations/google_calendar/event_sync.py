"""Keeping a booking's Google Calendar event in step with the booking, from the outbox
(integrations.calendar_base.event_sync does the work). The event id is derived from the
booking (client.event_id_for), so a retried insert cannot create a second event and a delete
never needs to have seen the insert's answer."""

from __future__ import annotations

from integrations.calendar_base.event_sync import CalendarNotReady, EventSyncer
from integrations.google_calendar import client, connections

__all__ = ["CalendarNotReady", "create_event", "delete_event", "syncer"]

syncer = EventSyncer(
    store=connections.store,
    # Looked up at call time, so the class can be replaced in tests.
    client=lambda connection: client.CalendarClient(connection),
    derived_event_id=client.event_id_for,
)

create_event = syncer.create_event
delete_event = syncer.delete_event
