"""Outlook Calendar in admin: each connection's health, read-only; a section on the
business's page with Connect / Choose calendar / Disconnect; each booking's Outlook event
(sync status, error, "Retry Outlook sync now") on the bookings pages. No token is ever shown."""

from __future__ import annotations

from django.contrib import admin

from integrations.calendar_base.admin_columns import add_event_sync_to_booking_admin
from integrations.calendar_base.connection_admin import CalendarConnectionAdmin
from integrations.calendar_base.sections import register_section
from integrations.microsoft_calendar.models import OutlookCalendarConnection, OutlookEventSync
from integrations.microsoft_calendar.templatetags.outlook_calendar_admin import (
    outlook_calendar_section,
    status_text,
)

SHOWN_FIELDS = [
    "business",
    "state",
    "account_email",
    "write_calendar_name",
    "granted_scopes",
    "access_token_expires_local",
    "last_error",
    "last_error_local",
    "connected_by",
    "connected_local",
    "updated_local",
    "manage",
]


@admin.register(OutlookCalendarConnection)
class OutlookCalendarConnectionAdmin(CalendarConnectionAdmin):
    section_anchor = "outlook-calendar"
    status_text = staticmethod(status_text)
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS


register_section(outlook_calendar_section)
add_event_sync_to_booking_admin(
    sync_model=OutlookEventSync, related_name="outlook_event_sync", prefix="Outlook"
)
