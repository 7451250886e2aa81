"""Connect, choose calendars and disconnect, from a business's admin page.

Every view needs a staff member who may change businesses (`bookings.change_business`):
anyone else gets 403 (or the login page when signed out). The views parse the request, call
one service (oauth.py, connections.py) and answer with an admin-looking page or a redirect back
to the business, with a message saying what happened.
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
from integrations.calendar_base.staff import (
    admin_page,
    business_page,
    staff_who_may_change_businesses,
)
from integrations.google_calendar import connections, oauth
from integrations.google_calendar.client import CalendarClient, CalendarInfo, GoogleCalendarError
from integrations.google_calendar.models import PRIMARY, UNREADABLE_TOKENS_TEXT

logger = logging.getLogger(__name__)

# Roles that may create events; any role lets Google tell us when the calendar is busy.
WRITABLE_ROLES = {"owner", "writer"}


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    return admin_page(request, f"google_calendar/{template}", context, status=status)


# -- Connect -------------------------------------------------------------------------------


@require_GET
@staff_who_may_change_businesses
def connect(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    if not oauth.is_configured():
        return _page(
            request,
            "not_configured.html",
            {
                "title": "Google Calendar is not set up",
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
    """Google sends the staff member back here with `code` and `state` (or `error`)."""
    try:
        pending = oauth.take_pending(
            session=request.session, state=request.GET.get("state", ""), user=request.user
        )
    except oauth.StateRejected as exc:
        logger.warning("Refused a Google Calendar callback: %s.", exc)
        return _page(
            request,
            "state_rejected.html",
            {"title": "This sign-in cannot be used", "public_base_url": settings.PUBLIC_BASE_URL},
            status=403,
        )
    business = get_object_or_404(Business, pk=pending.business_id)
    error = request.GET.get("error", "")
    if error:
        if error == "access_denied":
            messages.warning(
                request,
                "Google Calendar was not connected: access was not allowed on Google's "
                "consent screen.",
            )
        else:
            # Google's error codes are short words (invalid_scope, ...); nothing secret.
            messages.error(request, f"Google Calendar was not connected: Google said {error[:80]}.")
        return redirect(business_page(business))
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, "Google Calendar was not connected: Google sent no code back.")
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
        messages.success(request, f"Connected as {connection.account_email}.")
    return redirect("google_calendar:calendars", business_id=business.pk)


# -- Choose calendars ----------------------------------------------------------------------


class CalendarChoiceForm(forms.Form):
    busy_calendar_ids = forms.MultipleChoiceField(
        label="Check these calendars for busy times",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one calendar to check for busy times."},
    )
    write_calendar_id = forms.ChoiceField(
        label="Write booked appointments to", widget=forms.RadioSelect
    )

    def __init__(self, *args, calendars: list[CalendarInfo], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["busy_calendar_ids"].choices = [(c.id, _label(c)) for c in calendars]
        self.fields["write_calendar_id"].choices = [
            (c.id, _label(c)) for c in calendars if c.access_role in WRITABLE_ROLES
        ]


def _label(calendar: CalendarInfo) -> str:
    name = calendar.summary or calendar.id
    return f"{name} (primary)" if calendar.primary else name


def _stored(calendar_id: str, primary_id: str | None) -> str:
    """The primary calendar is stored as "primary", as it is by default."""
    return PRIMARY if calendar_id == primary_id else calendar_id


def _shown(calendar_id: str, primary_id: str | None) -> str:
    return primary_id if calendar_id == PRIMARY and primary_id else calendar_id


@require_http_methods(["GET", "POST"])
@staff_who_may_change_businesses
def calendars(request: HttpRequest, business_id: int) -> HttpResponse:
    business = get_object_or_404(Business, pk=business_id)
    connection = connections.connection_for(business)
    if connection is not None and connection.tokens_unreadable:
        messages.error(request, f"{UNREADABLE_TOKENS_TEXT}: reconnect Google Calendar.")
        return redirect(business_page(business))
    if connection is None or not connection.is_usable:
        messages.warning(request, "Connect Google Calendar first, then choose its calendars.")
        return redirect(business_page(business))
    context = {"title": "Choose Google calendars", "business": business, "connection": connection}
    try:
        listed = CalendarClient(connection).list_calendars()
    except GoogleCalendarError as exc:
        if exc.kind == connections.TOKEN_REVOKED:
            # Recorded by the client (status: needs reconnect); only a new consent helps.
            messages.error(request, f"Google refused our token: reconnect the calendar ({exc}).")
            return redirect(business_page(business))
        connections.record_problem(connection=connection, kind=exc.kind, detail=str(exc))
        return _page(request, "calendars.html", {**context, "error": str(exc)})
    primary_id = next((c.id for c in listed if c.primary), None)
    if request.method == "POST":
        form = CalendarChoiceForm(request.POST, calendars=listed)
        if form.is_valid():
            connections.save_calendar_choice(
                connection=connection,
                busy_calendar_ids=[
                    _stored(c, primary_id) for c in form.cleaned_data["busy_calendar_ids"]
                ],
                write_calendar_id=_stored(form.cleaned_data["write_calendar_id"], primary_id),
                account_email=connection.account_email or primary_id or "",
            )
            messages.success(request, f"Connected as {connection.account_email}.")
            return redirect(business_page(business))
    else:
        form = CalendarChoiceForm(
            initial={
                "busy_calendar_ids": [_shown(c, primary_id) for c in connection.busy_calendar_ids],
                "write_calendar_id": _shown(connection.write_calendar_id, primary_id),
            },
            calendars=listed,
        )
    return _page(request, "calendars.html", {**context, "form": form})


# -- Disconnect ----------------------------------------------------------------------------


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
                "title": "Disconnect Google Calendar",
                "business": business,
                "connection": connection,
                "has_tokens": has_tokens,
            },
        )
    if connection is None or not has_tokens:
        messages.info(request, "Google Calendar was not connected.")
        return redirect(business_page(business))
    result = oauth.disconnect(connection=connection)
    if result.ok:
        messages.success(request, "Google Calendar disconnected; Google revoked our access.")
    else:
        messages.warning(
            request,
            f"Google Calendar disconnected here, but Google did not confirm revoking our access "
            f"({result.detail}). Remove it at https://myaccount.google.com/permissions.",
        )
    return redirect(business_page(business))
