"""The "Google Calendar" section of a business's admin page (status and buttons)."""

from __future__ import annotations

from bookings.models import Business
from integrations.calendar_base.connection_admin import connection_status_text
from integrations.calendar_base.panel import ConnectionPanel
from integrations.google_calendar import connections, oauth
from integrations.google_calendar.models import PRIMARY, GoogleCalendarConnection
from integrations.google_calendar.provider import GoogleCalendarProvider


def status_text(connection: GoogleCalendarConnection | None) -> str:
    return connection_status_text(connection, service="Google")


def _calendar_name(calendar_id: str) -> str:
    return "the primary calendar" if calendar_id == PRIMARY else calendar_id


def _chosen(business: Business, connection: GoogleCalendarConnection | None) -> dict:
    if connection is None:
        return {"busy_calendars": [], "write_calendar": ""}
    return {
        "busy_calendars": [_calendar_name(c) for c in (connection.busy_calendar_ids or [])],
        "write_calendar": _calendar_name(connection.write_calendar_id),
    }


google_calendar_section = ConnectionPanel(
    template="google_calendar/admin/panel.html",
    title="Google Calendar",
    name="Google Calendar",
    anchor="google-calendar",
    namespace="google_calendar",
    choose_view="calendars",
    choose_label="Choose calendars",
    chosen_field="calendars",
    setup_object="a Google Calendar",
    store=connections.store,
    provider=GoogleCalendarProvider.name,
    status_text=status_text,
    is_configured=oauth.is_configured,
    missing_settings=oauth.missing_settings,
    chosen=_chosen,
)
