"""Connect Calendly, map services to event types, disconnect: from a business's admin page.

Every view needs a staff member who may change businesses (calendar_base.staff). Connect,
callback and disconnect are calendar_base's connect views over Calendly's ConnectFlow; the
event-type page parses the request, calls one service (connections.py, event_types.py) and
answers with an admin-looking page or a redirect back to the business, with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from integrations.calendar_base.connect_views import ConnectFlow, choice_view, connect_views
from integrations.calendar_base.staff import (
    admin_page,
    business_page,
)
from integrations.calendly import connections, event_types, oauth
from integrations.calendly.client import CalendlyClient


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    return admin_page(request, f"calendly/{template}", context, status=status)


def _disconnect(connection) -> tuple[int, str]:
    result = oauth.disconnect(connection=connection)
    if result.ok:
        return messages.SUCCESS, "Calendly disconnected; Calendly revoked our access."
    return messages.WARNING, (
        f"Calendly disconnected here, but Calendly did not confirm revoking our access "
        f"({result.detail})."
    )


FLOW = ConnectFlow(
    name="Calendly",
    service="Calendly",
    namespace="calendly",
    anchor="calendly",
    store=connections.store,
    is_configured=oauth.is_configured,
    missing_settings=oauth.missing_settings,
    redirect_uri=oauth.redirect_uri,
    start=oauth.start_authorization,
    take_pending=oauth.take_pending,
    finish=lambda *, business, user, pending, query: oauth.connect_with_code(
        business=business, user=user, pending=pending, code=query["code"]
    ),
    disconnect=_disconnect,
    connect_failed=oauth.ConnectFailed,
    # An owner who says no is told what Calendly said.
    declined=frozenset(),
    choose_view="event_types",
    connected_as=event_types.account_name,
)
connect, callback, disconnect = connect_views(FLOW)


def _choose(request, business, connection, listed, context) -> HttpResponse:
    form = event_types.MappingForm(
        request.POST if request.method == "POST" else None,
        business=business,
        connection=connection,
        listed=listed,
    )
    if request.method == "POST" and form.is_valid():
        event_types.save_mapping(business=business, connection=connection, form=form)
        messages.success(request, "Calendly event types saved.")
        return redirect(business_page(business))
    return _page(request, "event_types.html", {**context, "form": form})


event_types_view = choice_view(
    FLOW,
    title="Calendly event types",
    what="event types",
    listing=lambda connection: CalendlyClient(connection).event_types(),
    reconnect="Calendly",
    template="event_types.html",
    choose=_choose,
)
