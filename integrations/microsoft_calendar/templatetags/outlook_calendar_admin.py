"""The "Outlook Calendar" section of a business's admin page (status and buttons)."""

from __future__ import annotations

from bookings.models import Business
from integrations.calendar_base.connection_admin import connection_status_text
from integrations.calendar_base.panel import ConnectionPanel
from integrations.microsoft_calendar import identity
from integrations.microsoft_calendar.connections import store
from integrations.microsoft_calendar.models import OutlookCalendarConnection
from integrations.microsoft_calendar.provider import OutlookCalendarProvider


def status_text(connection: OutlookCalendarConnection | None) -> str:
    return connection_status_text(connection, service="Microsoft")


def _chosen(business: Business, connection: OutlookCalendarConnection | None) -> dict:
    if connection is None:
        return {"write_calendar": ""}
    return {"write_calendar": connection.write_calendar_name or "the default calendar"}


outlook_calendar_section = ConnectionPanel(
    template="microsoft_calendar/admin/panel.html",
    title="Outlook Calendar (Microsoft 365)",
    name="Outlook Calendar",
    anchor="outlook-calendar",
    namespace="microsoft_calendar",
    choose_view="calendars",
    choose_label="Choose calendar",
    chosen_field="calendars",
    setup_object="an Outlook calendar",
    store=store,
    provider=OutlookCalendarProvider.name,
    status_text=status_text,
    is_configured=identity.is_configured,
    missing_settings=identity.missing_settings,
    chosen=_chosen,
)
