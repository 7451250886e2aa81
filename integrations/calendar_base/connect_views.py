"""Connect, callback and disconnect views, the same for every calendar integration.

Every view needs a staff member who may change businesses (`bookings.change_business`):
anyone else gets 403 (or the login page when signed out). The views parse the request, call
the integration's services (its ConnectFlow) and answer with an admin-looking page from the
integration's templates (else calendar_base's shared ones) or a redirect back to the business,
with a message saying what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from bookings.models import Business
from integrations.calendar_base import errors
from integrations.calendar_base.connections import ConnectionStore
from integrations.calendar_base.models import UNREADABLE_TOKENS_TEXT
from integrations.calendar_base.signins import StateRejected
from integrations.calendar_base.staff import (
    admin_page,
    business_page,
    staff_who_may_change_businesses,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectFlow:
    """What the connect pages need from one integration."""

    name: str  # "Google Calendar"
    service: str  # "Google": whose consent screen, who said what
    namespace: str  # the URL namespace and template folder
    anchor: str  # the id prefix of its admin elements: "google-calendar"
    store: ConnectionStore
    is_configured: Callable[[], bool]
    missing_settings: Callable[[], list[str]]
    redirect_uri: Callable[[], str]
    # (session, business, user) -> the consent URL; raises connect_failed.
    start: Callable[..., str]
    # (session, state, user) -> the pending sign-in; raises StateRejected.
    take_pending: Callable[..., Any]
    # (business, user, pending, query) -> (connection, warning); raises connect_failed.
    finish: Callable[..., tuple[Any, str]]
    # connection -> (messages level, what to tell staff)
    disconnect: Callable[[Any], tuple[int, str]]
    connect_failed: type[Exception]
    # Callback errors that mean "the owner said no".
    declined: frozenset[str] = frozenset({"access_denied"})
    # Where a new connection goes next, and whom it is connected as.
    choose_view: str = "calendars"
    connected_as: Callable[[Any], str] = lambda connection: connection.account_email


def connect_views(flow: ConnectFlow) -> tuple[Callable, Callable, Callable]:
    """The integration's (connect, callback, disconnect) views."""

    def page(request: HttpRequest, template: str, context: dict, *, status: int = 200):
        # The integration's own template where it has one, else the shared one.
        templates = [f"{flow.namespace}/{template}", f"calendar_base/{template}"]
        names = {"name": flow.name, "service": flow.service, "anchor": flow.anchor}
        return admin_page(request, templates, {**names, **context}, status=status)

    @require_GET
    @staff_who_may_change_businesses
    def connect(request: HttpRequest, business_id: int) -> HttpResponse:
        business = get_object_or_404(Business, pk=business_id)
        if not flow.is_configured():
            return page(
                request,
                "not_configured.html",
                {
                    "title": f"{flow.name} is not set up",
                    "business": business,
                    "missing": flow.missing_settings(),
                    "redirect_uri": flow.redirect_uri(),
                },
            )
        try:
            url = flow.start(session=request.session, business=business, user=request.user)
        except flow.connect_failed as exc:
            messages.error(request, str(exc))
            return redirect(business_page(business))
        return HttpResponseRedirect(url)

    @require_GET
    @staff_who_may_change_businesses
    @sensitive_variables()
    def callback(request: HttpRequest) -> HttpResponse:
        """The service sends the staff member back here with `code` and `state` (or `error`)."""
        try:
            pending = flow.take_pending(
                session=request.session, state=request.GET.get("state", ""), user=request.user
            )
        except StateRejected as exc:
            logger.warning("Refused a %s callback: %s.", flow.name, exc)
            return page(
                request,
                "state_rejected.html",
                {
                    "title": "This sign-in cannot be used",
                    "public_base_url": settings.PUBLIC_BASE_URL,
                },
                status=403,
            )
        business = get_object_or_404(Business, pk=pending.business_id)
        error = request.GET.get("error", "")
        if error:
            if error in flow.declined:
                messages.warning(
                    request,
                    f"{flow.name} was not connected: access was not allowed on "
                    f"{flow.service}'s consent screen.",
                )
            else:
                # The services' error codes are short words (invalid_scope, ...); nothing secret.
                messages.error(
                    request, f"{flow.name} was not connected: {flow.service} said {error[:80]}."
                )
            return redirect(business_page(business))
        if not request.GET.get("code"):
            messages.error(
                request, f"{flow.name} was not connected: {flow.service} sent no code back."
            )
            return redirect(business_page(business))
        try:
            connection, warning = flow.finish(
                business=business, user=request.user, pending=pending, query=request.GET.dict()
            )
        except flow.connect_failed as exc:
            messages.error(request, str(exc))
            return redirect(business_page(business))
        if warning:
            messages.warning(request, warning)
        else:
            messages.success(request, f"Connected as {flow.connected_as(connection)}.")
        return redirect(f"{flow.namespace}:{flow.choose_view}", business_id=business.pk)

    @require_http_methods(["GET", "POST"])
    @staff_who_may_change_businesses
    def disconnect(request: HttpRequest, business_id: int) -> HttpResponse:
        business = get_object_or_404(Business, pk=business_id)
        connection = flow.store.connection_for(business)
        has_tokens = connection is not None and (
            connection.tokens_unreadable
            or bool(connection.refresh_token or connection.access_token)
        )
        if request.method == "GET":
            return page(
                request,
                "disconnect.html",
                {
                    "title": f"Disconnect {flow.name}",
                    "business": business,
                    "connection": connection,
                    "has_tokens": has_tokens,
                },
            )
        if connection is None or not has_tokens:
            messages.info(request, f"{flow.name} was not connected.")
            return redirect(business_page(business))
        level, message = flow.disconnect(connection)
        messages.add_message(request, level, message)
        return redirect(business_page(business))

    return connect, callback, disconnect


def choice_view(
    flow: ConnectFlow,
    *,
    title: str,
    what: str,
    listing: Callable[[Any], Any],
    reconnect: str,
    template: str,
    choose: Callable[..., HttpResponse],
) -> Callable:
    """The integration's page where staff choose what its connection uses (`what`: its
    calendars, its event types) from what the service lists (`listing(connection)`). Here:
    the connection must be usable and the list read, else staff are told why (a refused token
    means `reconnect` ...). Then `choose(request, business, connection, listed, context)`
    answers with the form."""

    @require_http_methods(["GET", "POST"])
    @staff_who_may_change_businesses
    def view(request: HttpRequest, business_id: int) -> HttpResponse:
        business = get_object_or_404(Business, pk=business_id)
        connection = flow.store.connection_for(business)
        if connection is not None and connection.tokens_unreadable:
            messages.error(request, f"{UNREADABLE_TOKENS_TEXT}: reconnect {flow.name}.")
            return redirect(business_page(business))
        if connection is None or not connection.is_usable:
            messages.warning(request, f"Connect {flow.name} first, then choose its {what}.")
            return redirect(business_page(business))
        context = {
            "title": title,
            "business": business,
            "connection": connection,
            "account": flow.connected_as(connection),
        }
        try:
            listed = listing(connection)
        except errors.CalendarError as exc:
            if exc.kind == errors.TOKEN_REVOKED:
                # Recorded by the client (status: needs reconnect); only a new consent helps.
                messages.error(
                    request, f"{flow.service} refused our token: reconnect {reconnect} ({exc})."
                )
                return redirect(business_page(business))
            flow.store.record_problem(connection=connection, kind=exc.kind, detail=str(exc))
            page = f"{flow.namespace}/{template}"
            return admin_page(request, page, {**context, "error": str(exc)})
        return choose(request, business, connection, listed, context)

    return view
