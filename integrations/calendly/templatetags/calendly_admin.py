"""The "Calendly" section of a business's admin page (status, event types and buttons)."""

from __future__ import annotations

from bookings.models import Business
from integrations.calendar_base.models import UNREADABLE_TOKENS_TEXT
from integrations.calendar_base.panel import ConnectionPanel
from integrations.calendly import connections, oauth
from integrations.calendly.event_types import account_name
from integrations.calendly.models import CalendlyConnection, CalendlyEventType
from integrations.calendly.provider import CalendlyProvider

Status = CalendlyConnection.Status


def status_text(connection: CalendlyConnection | None) -> str:
    if connection is None or connection.status == Status.DISCONNECTED:
        return "Not connected"
    if connection.tokens_unreadable:
        return UNREADABLE_TOKENS_TEXT
    if connection.status == Status.NEEDS_RECONNECT:
        return f"Needs reconnect: {connection.last_error or 'Calendly refused our token'}"
    return f"Connected as {account_name(connection)}"


def _chosen(business: Business, connection: CalendlyConnection | None) -> dict:
    mapping = [
        f"{m.service.name} as {m.name or m.uri}"
        for m in CalendlyEventType.objects.filter(service__business=business)
        .select_related("service")
        .order_by("service__name")
    ]
    return {"mapping": mapping, "invitee_email": connection.invitee_email if connection else ""}


calendly_section = ConnectionPanel(
    template="calendly/admin/panel.html",
    title="Calendly",
    name="Calendly",
    anchor="calendly",
    namespace="calendly",
    choose_view="event_types",
    choose_label="Choose event types",
    chosen_field="event_types",
    setup_object="Calendly",
    store=connections.store,
    provider=CalendlyProvider.name,
    status_text=status_text,
    is_configured=oauth.is_configured,
    missing_settings=oauth.missing_settings,
    chosen=_chosen,
    disconnect_label="Disconnect Calendly",
)
