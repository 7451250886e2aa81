"""Connect, choose the calendar and disconnect Outlook, from a business's admin page.

Every view needs a staff member who may change businesses; the views parse the request, call
one service (oauth.py, connections.py) and answer with an admin-looking page or a redirect
back to the business, with a message saying what happened.
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
from integrations.microsoft_calendar import connections, identity, oauth
from integrations.microsoft_calendar.client import CalendarInfo, GraphClient
from integrations.microsoft_calendar.connections import store
from integrations.microsoft_calendar.models import DEFAULT_CALENDAR

logger = logging.getLogger(__name__)

NAME = "Outlook Calendar"


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    return admin_page(request, f"microsoft_calendar/{template}", context, status=status)


def _disconnect(connection) -> tuple[int, str]:
    result = oauth.disconnect(connection=connection)
    return messages.SUCCESS, f"{NAME} disconnected; our tokens are deleted. {result.detail}"


FLOW = ConnectFlow(
    name=NAME,
    service="Microsoft",
    namespace="microsoft_calendar",
    anchor="outlook-calendar",
    store=store,
    is_configured=identity.is_configured,
    missing_settings=identity.missing_settings,
    redirect_uri=identity.redirect_uri,
    start=oauth.start_authorization,
    take_pending=oauth.take_pending,
    finish=lambda *, business, user, pending, query: oauth.connect_with_code(
        business=business, user=user, pending=pending, params=query
    ),
    disconnect=_disconnect,
    connect_failed=oauth.ConnectFailed,
    declined=frozenset({"access_denied", "consent_required"}),
)
connect, callback, disconnect = connect_views(FLOW)


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


def _choose(request, business, connection, listed, context) -> HttpResponse:
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


calendars = choice_view(
    FLOW,
    title="Choose the Outlook calendar",
    what="calendar",
    listing=lambda connection: GraphClient(connection).list_calendars(),
    reconnect="the calendar",
    template="calendars.html",
    choose=_choose,
)
