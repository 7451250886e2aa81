"""Writes to an OutlookCalendarConnection, through the shared ConnectionStore."""

from __future__ import annotations

from integrations.calendar_base.connections import (
    API_DOWN,
    CALENDAR_ERROR,
    NOT_CONNECTED,
    RATE_LIMITED,
    REVOKE_FAILED,
    TOKEN_REVOKED,
    ConnectionStore,
)
from integrations.microsoft_calendar.models import OutlookCalendarConnection, OutlookEventSync

PROBLEM_LABELS = {
    NOT_CONNECTED: "Outlook Calendar is not connected",
    API_DOWN: "Microsoft Graph did not answer",
    TOKEN_REVOKED: "Microsoft refused our token: reconnect the calendar",
    RATE_LIMITED: "Microsoft Graph throttled us",
    CALENDAR_ERROR: "Microsoft Graph reported an error for the calendar",
    REVOKE_FAILED: "Microsoft did not confirm removing our access",
}

store = ConnectionStore(
    model=OutlookCalendarConnection,
    sync_model=OutlookEventSync,
    calendar="Outlook Calendar",
    key="outlook",
    labels=PROBLEM_LABELS,
)


def save_write_calendar(
    *, connection: OutlookCalendarConnection, calendar_id: str, calendar_name: str
) -> None:
    """Staff picked the calendar booked appointments are written to."""
    connection.write_calendar_id = calendar_id
    connection.write_calendar_name = calendar_name
    connection.save(update_fields=["write_calendar_id", "write_calendar_name", "updated_at"])
