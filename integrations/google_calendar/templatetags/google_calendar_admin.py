"""The "Google Calendar" section of a business's admin page (status and buttons)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string

from bookings.models import Business
from integrations.calendar_base.connection_admin import connection_status_text
from integrations.calendar_base.staff import may_connect
from integrations.google_calendar import connections, oauth
from integrations.google_calendar.models import (
    PRIMARY,
    GoogleCalendarConnection,
)
from integrations.google_calendar.provider import GoogleCalendarProvider

register = template.Library()

Status = GoogleCalendarConnection.Status


def status_text(connection: GoogleCalendarConnection | None) -> str:
    return connection_status_text(connection, service="Google")


def _calendar_name(calendar_id: str) -> str:
    return "the primary calendar" if calendar_id == PRIMARY else calendar_id


def google_calendar_section(request, business: Business) -> str:
    """The "Google Calendar" section of the business page."""
    return render_to_string(
        "google_calendar/admin/panel.html", _panel(request, business), request=request
    )


def _panel(request, business: Business) -> dict:
    connection = connections.connection_for(business)
    status = connection.status if connection else Status.DISCONNECTED
    if connection and connection.tokens_unreadable:
        status = Status.NEEDS_RECONNECT
    last_error_at = None
    if connection and connection.last_error_at:
        local = connection.last_error_at.astimezone(business.tz)
        last_error_at = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    return {
        "business": business,
        "status": str(status),
        "status_text": status_text(connection),
        "last_error": connection.last_error if connection else "",
        "last_error_at": last_error_at,
        "busy_calendars": [_calendar_name(c) for c in (connection.busy_calendar_ids or [])]
        if connection
        else [],
        "write_calendar": _calendar_name(connection.write_calendar_id) if connection else "",
        "provider_active": business.booking_provider == GoogleCalendarProvider.name,
        "may_connect": may_connect(request.user),
        "configured": oauth.is_configured(),
        "missing": oauth.missing_settings(),
    }
