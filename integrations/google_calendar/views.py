"""Connect, choose calendars and disconnect, from a business's admin page.

Every view needs a staff member who may change businesses (`bookings.change_business`):
anyone else gets 403 (or the login page when signed out). The views parse the request, call
one service (oauth.py, connections.py) and answer with an admin-looking page or a redirect back
to the business, with a message saying what happened.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from integrations.calendar_base.connect_views import ConnectFlow, choice_view, connect_views
from integrations.calendar_base.staff import (
    admin_page,
    business_page,
)
from integrations.google_calendar import connections, oauth
from integrations.google_calendar.client import CalendarClient, CalendarInfo
from integrations.google_calendar.models import PRIMARY

logger = logging.getLogger(__name__)

# Roles that may create events; any role lets Google tell us when the calendar is busy.
WRITABLE_ROLES = {"owner", "writer"}


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    return admin_page(request, f"google_calendar/{template}", context, status=status)


def _disconnect(connection) -> tuple[int, str]:
    result = oauth.disconnect(connection=connection)
    if result.ok:
        return messages.SUCCESS, "Google Calendar disconnected; Google revoked our access."
    return messages.WARNING, (
        f"Google Calendar disconnected here, but Google did not confirm revoking our access "
        f"({result.detail}). Remove it at https://myaccount.google.com/permissions."
    )


FLOW = ConnectFlow(
    name="Google Calendar",
    service="Google",
    namespace="google_calendar",
    anchor="google-calendar",
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
)
connect, callback, disconnect = connect_views(FLOW)


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


def _choose(request, business, connection, listed, context) -> HttpResponse:
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


calendars = choice_view(
    FLOW,
    title="Choose Google calendars",
    what="calendars",
    listing=lambda connection: CalendarClient(connection).list_calendars(),
    reconnect="the calendar",
    template="calendars.html",
    choose=_choose,
)
