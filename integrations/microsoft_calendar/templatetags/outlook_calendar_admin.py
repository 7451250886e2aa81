"""The "Outlook Calendar" section of a business's admin page (status and buttons)."""

from __future__ import annotations

from django.template.loader import render_to_string

from bookings.models import Business
from integrations.calendar_base.connection_admin import connection_status_text
from integrations.calendar_base.staff import may_connect
from integrations.microsoft_calendar import identity
from integrations.microsoft_calendar.connections import store
from integrations.microsoft_calendar.models import OutlookCalendarConnection
from integrations.microsoft_calendar.provider import OutlookCalendarProvider

Status = OutlookCalendarConnection.Status


def status_text(connection: OutlookCalendarConnection | None) -> str:
    return connection_status_text(connection, service="Microsoft")


def outlook_calendar_section(request, business: Business) -> str:
    connection = store.connection_for(business)
    status = connection.status if connection else Status.DISCONNECTED
    if connection and connection.tokens_unreadable:
        status = Status.NEEDS_RECONNECT
    last_error_at = None
    if connection and connection.last_error_at:
        local = connection.last_error_at.astimezone(business.tz)
        last_error_at = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    context = {
        "business": business,
        "status": str(status),
        "status_text": status_text(connection),
        "last_error": connection.last_error if connection else "",
        "last_error_at": last_error_at,
        "write_calendar": (connection.write_calendar_name or "the default calendar")
        if connection
        else "",
        "provider_active": business.booking_provider == OutlookCalendarProvider.name,
        "may_connect": may_connect(request.user),
        "configured": identity.is_configured(),
        "missing": identity.missing_settings(),
    }
    return render_to_string("microsoft_calendar/admin/panel.html", context, request=request)
