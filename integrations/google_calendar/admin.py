"""Google Calendar in admin: each connection's health, read-only, a section on the
business's page with Connect / Choose calendars / Disconnect, and each booking's calendar
event (sync status, error, "Retry calendar sync now") on the bookings pages.

No token is ever shown, not even masked: the token fields are simply not in any admin form or
list. Connections change only through the connect flow (views.py), never by editing here.
"""

from __future__ import annotations

from django.contrib import admin

from integrations.calendar_base.admin_columns import add_event_sync_to_booking_admin
from integrations.calendar_base.connection_admin import CalendarConnectionAdmin
from integrations.calendar_base.sections import register_section
from integrations.google_calendar.models import CalendarEventSync, GoogleCalendarConnection
from integrations.google_calendar.templatetags.google_calendar_admin import (
    google_calendar_section,
    status_text,
)

SHOWN_FIELDS = [
    "business",
    "state",
    "account_email",
    "busy_calendar_ids",
    "write_calendar_id",
    "granted_scopes",
    "access_token_expires_local",
    "last_error",
    "last_error_local",
    "connected_by",
    "connected_local",
    "updated_local",
    "manage",
]


@admin.register(GoogleCalendarConnection)
class GoogleCalendarConnectionAdmin(CalendarConnectionAdmin):
    section_anchor = "google-calendar"
    status_text = staticmethod(status_text)
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS


# bookings never imports integrations: its admin pages learn about Google from here.
register_section(google_calendar_section)
add_event_sync_to_booking_admin(
    sync_model=CalendarEventSync, related_name="calendar_event_sync", prefix="calendar"
)
