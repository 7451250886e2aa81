"""The "Calendly" section of a business's admin page (status, event types and buttons)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string

from bookings.models import Business
from integrations.calendar_base.models import UNREADABLE_TOKENS_TEXT
from integrations.calendar_base.staff import may_connect
from integrations.calendly import connections, oauth
from integrations.calendly.event_types import account_name
from integrations.calendly.models import CalendlyConnection, CalendlyEventType
from integrations.calendly.provider import CalendlyProvider

register = template.Library()

Status = CalendlyConnection.Status


def status_text(connection: CalendlyConnection | None) -> str:
    if connection is None or connection.status == Status.DISCONNECTED:
        return "Not connected"
    if connection.tokens_unreadable:
        return UNREADABLE_TOKENS_TEXT
    if connection.status == Status.NEEDS_RECONNECT:
        return f"Needs reconnect: {connection.last_error or 'Calendly refused our token'}"
    return f"Connected as {account_name(connection)}"


def calendly_section(request, business: Business) -> str:
    """The "Calendly" section of the business page (calendar_base.sections)."""
    return render_to_string("calendly/admin/panel.html", _panel(request, business), request=request)


def _panel(request, business: Business) -> dict:
    connection = connections.connection_for(business)
    status = connection.status if connection else Status.DISCONNECTED
    if connection and connection.tokens_unreadable:
        status = Status.NEEDS_RECONNECT
    last_error_at = None
    if connection and connection.last_error_at:
        local = connection.last_error_at.astimezone(business.tz)
        last_error_at = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    mapping = [
        f"{m.service.name} as {m.name or m.uri}"
        for m in CalendlyEventType.objects.filter(service__business=business)
        .select_related("service")
        .order_by("service__name")
    ]
    return {
        "business": business,
        "status": str(status),
        "status_text": status_text(connection),
        "last_error": connection.last_error if connection else "",
        "last_error_at": last_error_at,
        "mapping": mapping,
        "invitee_email": connection.invitee_email if connection else "",
        "provider_active": business.booking_provider == CalendlyProvider.name,
        "may_connect": may_connect(request.user),
        "configured": oauth.is_configured(),
        "missing": oauth.missing_settings(),
    }
