"""Connect Calendly, map services to event types, disconnect: from a business's admin page.

Every view needs a staff member who may change businesses (calendar_base.staff). The views
parse the request, call one service (oauth.py, connections.py, event_types.py) and answer
with an admin-looking page or a redirect back to the business, with a message.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from bookings.models import Business
from integrations.calendar_base.models import UNREADABLE_TOKENS_TEXT
from integrations.calendar_base.staff import (
    admin_page,
    business_page,
    staff_who_may_change_businesses,
)
from integrations.calendly import connections, event_types, oauth
from integrations.calendly.client import CalendlyClient, CalendlyError

logger = logging.getLogger(__name__)


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    return admin_page(request, f"calendly/{template}", context, status=status)


@require_GET
@staff_who_may_change_businesses
def connect(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    if not oauth.is_configured():
        return _page(
            request,
            "not_configured.html",
            {
                "title": "Calendly is not set up",
                "business": business,
                "missing": oauth.missing_settings(),
                "redirect_uri": oauth.redirect_uri(),
            },
        )
    try:
        url = oauth.start_authorization(
            session=request.session, business=business, user=request.user
        )
    except oauth.ConnectFailed as exc:
        messages.error(request, str(exc))
        return redirect(business_page(business))
    return HttpResponseRedirect(url)


@require_GET
@staff_who_may_change_businesses
@sensitive_variables()
def callback(request: HttpRequest) -> HttpResponse:
    """Calendly sends the staff member back here with `code` and `state` (or `error`)."""
    try:
        pending = oauth.take_pending(
            session=request.session, state=request.GET.get("state", ""), user=request.user
        )
    except oauth.StateRejected as exc:
        logger.warning("Refused a Calendly callback: %s.", exc)
        return _page(
            request,
            "state_rejected.html",
            {"title": "This sign-in cannot be used", "public_base_url": settings.PUBLIC_BASE_URL},
            status=403,
        )
    business = get_object_or_404(Business, pk=pending.business_id)
    error = request.GET.get("error", "")
    if error:
        # OAuth error codes are short words (access_denied, ...); nothing secret.
        messages.error(request, f"Calendly was not connected: Calendly said {error[:80]}.")
        return redirect(business_page(business))
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, "Calendly was not connected: Calendly sent no code back.")
        return redirect(business_page(business))
    try:
        connection, warning = oauth.connect_with_code(
            business=business, user=request.user, pending=pending, code=code
        )
    except oauth.ConnectFailed as exc:
        messages.error(request, str(exc))
        return redirect(business_page(business))
    if warning:
        messages.warning(request, warning)
    else:
        messages.success(request, f"Connected as {event_types.account_name(connection)}.")
    return redirect("calendly:event_types", business_id=business.pk)


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


@require_http_methods(["GET", "POST"])
@staff_who_may_change_businesses
def disconnect(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    connection = connections.connection_for(business)
    has_tokens = connection is not None and (
        connection.tokens_unreadable or bool(connection.refresh_token or connection.access_token)
    )
    if request.method == "GET":
        return _page(
            request,
            "disconnect.html",
            {
                "title": "Disconnect Calendly",
                "business": business,
                "connection": connection,
                "has_tokens": has_tokens,
            },
        )
    if connection is None or not has_tokens:
        messages.info(request, "Calendly was not connected.")
        return redirect(business_page(business))
    result = oauth.disconnect(connection=connection)
    if result.ok:
        messages.success(request, "Calendly disconnected; Calendly revoked our access.")
    else:
        messages.warning(
            request,
            f"Calendly disconnected here, but Calendly did not confirm revoking our access "
            f"({result.detail}).",
        )
    return redirect(business_page(business))
