"""Connect Calendly, map services to event types, disconnect: from a business's admin page.

Every view needs a staff member who may change businesses (calendar_base.staff). Connect,
callback and disconnect are calendar_base's connect views over Calendly's ConnectFlow; the
event-type page parses the request, calls one service (connections.py, event_types.py) and
answers with an admin-looking page or a redirect back to the business, with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from bookings.models import Business
from integrations.calendar_base.connect_views import ConnectFlow, connect_views
from integrations.calendar_base.models import UNREADABLE_TOKENS_TEXT
from integrations.calendar_base.staff import (
    admin_page,
    business_page,
    staff_who_may_change_businesses,
)
from integrations.calendly import connections, event_types, oauth
from integrations.calendly.client import CalendlyClient, CalendlyError


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


connect, callback, disconnect = connect_views(
    ConnectFlow(
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
)


@require_http_methods(["GET", "POST"])
@staff_who_may_change_businesses
def event_types_view(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    connection = connections.connection_for(business)
    if connection is not None and connection.tokens_unreadable:
        messages.error(request, f"{UNREADABLE_TOKENS_TEXT}: reconnect Calendly.")
        return redirect(business_page(business))
    if connection is None or not connection.is_usable:
        messages.warning(request, "Connect Calendly first, then choose its event types.")
        return redirect(business_page(business))
    context = {
        "title": "Calendly event types",
        "business": business,
        "connection": connection,
        "account": event_types.account_name(connection),
    }
    try:
        listed = CalendlyClient(connection).event_types()
    except CalendlyError as exc:
        if exc.kind == connections.TOKEN_REVOKED:
            messages.error(request, f"Calendly refused our token: reconnect Calendly ({exc}).")
            return redirect(business_page(business))
        connections.record_problem(connection=connection, kind=exc.kind, detail=str(exc))
        return _page(request, "event_types.html", {**context, "error": str(exc)})
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
