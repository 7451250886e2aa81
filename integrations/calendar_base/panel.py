"""One calendar integration's section of a business's admin page: the connection's status and
last problem, what it uses once connected, and Connect / Choose / Disconnect. Every
integration renders calendar_base/admin/panel.html through a ConnectionPanel; its own
template fills the "chosen" row and `chosen` gives that row's context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from bookings.models import Business
from integrations.calendar_base.connections import ConnectionStore
from integrations.calendar_base.models import CalendarConnection
from integrations.calendar_base.staff import may_connect


@dataclass(frozen=True)
class ConnectionPanel:
    """A section (calendar_base.sections): call it with the request and the business."""

    template: str  # the integration's panel.html, extending calendar_base/admin/panel.html
    title: str  # the heading: "Outlook Calendar (Microsoft 365)"
    name: str  # on the buttons: "Connect Outlook Calendar"
    anchor: str  # the fieldset's id and its elements' id prefix: "outlook-calendar"
    namespace: str  # the URL namespace of connect, disconnect and `choose_view`
    choose_view: str  # the page that picks calendars or event types
    choose_label: str
    chosen_field: str  # the chosen row's field-* class suffix
    setup_object: str  # "To connect an Outlook calendar, set ..."
    store: ConnectionStore
    provider: str  # the booking provider's registered name
    status_text: Callable[[CalendarConnection | None], str]
    is_configured: Callable[[], bool]
    missing_settings: Callable[[], list[str]]
    # (business, connection or None) -> the chosen row's context.
    chosen: Callable[[Business, CalendarConnection | None], dict]
    disconnect_label: str = "Disconnect"

    def __call__(self, request: HttpRequest, business: Business) -> str:
        return render_to_string(self.template, self.context(request, business), request=request)

    def context(self, request: HttpRequest, business: Business) -> dict:
        connection = self.store.connection_for(business)
        Status = CalendarConnection.Status
        status = connection.status if connection else Status.DISCONNECTED
        if connection and connection.tokens_unreadable:
            status = Status.NEEDS_RECONNECT
        last_error_at = None
        if connection and connection.last_error_at:
            local = connection.last_error_at.astimezone(business.tz)
            last_error_at = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
        return {
            "business": business,
            "title": self.title,
            "name": self.name,
            "anchor": self.anchor,
            "field": self.anchor.replace("-", "_"),
            "chosen_field": self.chosen_field,
            "setup_object": self.setup_object,
            "choose_label": self.choose_label,
            "disconnect_label": self.disconnect_label,
            "connect_url": reverse(f"{self.namespace}:connect", args=[business.pk]),
            "choose_url": reverse(f"{self.namespace}:{self.choose_view}", args=[business.pk]),
            "disconnect_url": reverse(f"{self.namespace}:disconnect", args=[business.pk]),
            "status": str(status),
            "status_text": self.status_text(connection),
            "last_error": connection.last_error if connection else "",
            "last_error_at": last_error_at,
            "provider_active": business.booking_provider == self.provider,
            "may_connect": may_connect(request.user),
            "configured": self.is_configured(),
            "missing": self.missing_settings(),
            **self.chosen(business, connection),
        }
