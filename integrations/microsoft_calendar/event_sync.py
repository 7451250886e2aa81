"""Keeping a booking's Outlook event in step with the booking, from the outbox
(integrations.calendar_base.event_sync does the work). Graph chooses event ids; a retried
create cannot make a second event because the create carries the booking's transactionId."""

from __future__ import annotations

from integrations.calendar_base.event_sync import EventSyncer
from integrations.microsoft_calendar import client, connections

syncer = EventSyncer(
    store=connections.store,
    # Looked up at call time, so the class can be replaced in tests.
    client=lambda connection: client.GraphClient(connection),
)

create_event = syncer.create_event
delete_event = syncer.delete_event
