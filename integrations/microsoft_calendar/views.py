"""Connect, choose the calendar and disconnect Outlook, from a business's admin page.

Every view needs a staff member who may change businesses; the views parse the request, call
one service (oauth.py, connections.py) and answer with an admin-looking page or a redirect
back to the business, with a message saying what happened.
"""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from bookings.models import Business
from integrations.calendar_base import errors
from integrations.calendar_base.errors import CalendarError
from integrations.calendar_base.models import UNREADABLE_TOKENS_TEXT
from integrations.calendar_base.staff import (
    admin_page,
    business_page,
    staff_who_may_change_businesses,
)
from integrations.microsoft_calendar import connections, identity, oauth
from integrations.microsoft_calendar.client import CalendarInfo, GraphClient
from integrations.microsoft_calendar.connections import store
from integrations.microsoft_calendar.models import DEFAULT_CALENDAR

logger = logging.getLogger(__name__)

NAME = "Outlook Calendar"


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    return admin_page(request, f"microsoft_calendar/{template}", context, status=status)


@require_GET
@staff_who_may_change_businesses
def connect(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    if not identity.is_configured():
        return _page(
            request,
            "not_configured.html",
            {
                "title": "Outlook Calendar is not set up",
                "business": business,
                "missing": identity.missing_settings(),
                "redirect_uri": identity.redirect_uri(),
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
    """Microsoft sends the staff member back here with `code` and `state` (or `error`)."""
    try:
        pending = oauth.take_pending(
            session=request.session, state=request.GET.get("state", ""), user=request.user
        )
    except oauth.StateRejected as exc:
        logger.warning("Refused an Outlook Calendar callback: %s.", exc)
        return _page(
            request,
            "state_rejected.html",
            {"title": "This sign-in cannot be used", "public_base_url": settings.PUBLIC_BASE_URL},
            status=403,
        )
    business = get_object_or_404(Business, pk=pending.business_id)
    error = request.GET.get("error", "")
    if error:
        if error in ("access_denied", "consent_required"):
            messages.warning(
                request,
                f"{NAME} was not connected: access was not allowed on Microsoft's consent screen.",
            )
        else:
            # Microsoft's error codes are short words (invalid_scope, ...); nothing secret.
            messages.error(request, f"{NAME} was not connected: Microsoft said {error[:80]}.")
        return redirect(business_page(business))
    if not request.GET.get("code"):
        messages.error(request, f"{NAME} was not connected: Microsoft sent no code back.")
        return redirect(business_page(business))
    try:
        connection, warning = oauth.connect_with_code(
            business=business, user=request.user, pending=pending, params=request.GET.dict()
        )
    except oauth.ConnectFailed as exc:
        messages.error(request, str(exc))
        return redirect(business_page(business))
    if warning:
        messages.warning(request, warning)
    else:
        messages.success(request, f"Connected as {connection.account_email}.")
    return redirect("microsoft_calendar:calendars", business_id=business.pk)


class CalendarChoiceForm(forms.Form):
    write_calendar_id = forms.ChoiceField(
        label="Write booked appointments to", widget=forms.RadioSelect
    )

    def __init__(self, *args, calendars: list[CalendarInfo], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.names = {_stored(c): c.name for c in calendars}
        self.fields["write_calendar_id"].choices = [
            (_stored(c), f"{c.name} (default)" if c.is_default else c.name)
            for c in calendars
            if c.can_edit
        ]


# The form's value for "the account's default calendar" (stored as DEFAULT_CALENDAR, so it
# follows the account).
DEFAULT_CHOICE = "default"


def _stored(calendar: CalendarInfo) -> str:
    return DEFAULT_CHOICE if calendar.is_default else calendar.id


@require_http_methods(["GET", "POST"])
@staff_who_may_change_businesses
def calendars(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    connection = store.connection_for(business)
    if connection is not None and connection.tokens_unreadable:
        messages.error(request, f"{UNREADABLE_TOKENS_TEXT}: reconnect {NAME}.")
        return redirect(business_page(business))
    if connection is None or not connection.is_usable:
        messages.warning(request, f"Connect {NAME} first, then choose its calendar.")
        return redirect(business_page(business))
    context = {
        "title": "Choose the Outlook calendar",
        "business": business,
        "connection": connection,
    }
    try:
        listed = GraphClient(connection).list_calendars()
    except CalendarError as exc:
        if exc.kind == errors.TOKEN_REVOKED:
            messages.error(request, f"Microsoft refused our token: reconnect the calendar ({exc}).")
            return redirect(business_page(business))
        store.record_problem(connection=connection, kind=exc.kind, detail=str(exc))
        return _page(request, "calendars.html", {**context, "error": str(exc)})
    if request.method == "POST":
        form = CalendarChoiceForm(request.POST, calendars=listed)
        if form.is_valid():
            chosen = form.cleaned_data["write_calendar_id"]
            connections.save_write_calendar(
                connection=connection,
                calendar_id=DEFAULT_CALENDAR if chosen == DEFAULT_CHOICE else chosen,
                calendar_name=form.names[chosen],
            )
            messages.success(request, f"Connected as {connection.account_email}.")
            return redirect(business_page(business))
    else:
        form = CalendarChoiceForm(
            initial={"write_calendar_id": connection.write_calendar_id or DEFAULT_CHOICE},
            calendars=listed,
        )
    return _page(request, "calendars.html", {**context, "form": form})


@require_http_methods(["GET", "POST"])
@staff_who_may_change_businesses
def disconnect(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    connection = store.connection_for(business)
    has_tokens = connection is not None and (
        connection.tokens_unreadable or bool(connection.refresh_token or connection.access_token)
    )
    if request.method == "GET":
        return _page(
            request,
            "disconnect.html",
            {
                "title": f"Disconnect {NAME}",
                "business": business,
                "connection": connection,
                "has_tokens": has_tokens,
            },
        )
    if connection is None or not has_tokens:
        messages.info(request, f"{NAME} was not connected.")
        return redirect(business_page(business))
    result = oauth.disconnect(connection=connection)
    messages.success(request, f"{NAME} disconnected; our tokens are deleted. {result.detail}")
    return redirect(business_page(business))
