"""Google Calendar in admin: each connection's health, read-only, a section on the
business's page with Connect / Choose calendars / Disconnect, and each booking's calendar
event (sync status, error, "Retry calendar sync now") on the bookings pages.

No token is ever shown, not even masked: the token fields are simply not in any admin form or
list. Connections change only through the connect flow (views.py), never by editing here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from bookings.admin import BookingAdmin
from bookings.admin_times import business_time_column
from bookings.models import Booking
from bookings.tasks import retry_provider_follow_ups
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
class GoogleCalendarConnectionAdmin(admin.ModelAdmin):
    list_display = ["business", "state", "account_email", "last_error_local", "connected_local"]
    list_filter = ["status"]
    search_fields = ["business__name", "business__slug", "account_email"]
    list_select_related = ["business"]
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS

    # In the business's zone, named, like every time in admin.
    access_token_expires_local = business_time_column(
        "access_token_expires_at", "business", "access token expires"
    )
    last_error_local = business_time_column("last_error_at", "business", "last error at")
    connected_local = business_time_column("connected_at", "business", "connected at")
    updated_local = business_time_column("updated_at", "business", "updated")

    def has_add_permission(self, request) -> bool:
        return False  # a connection is made by connecting, on the business's page

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting the row would leave the grant alive at Google: Disconnect revokes it.
        return False

    @admin.display(description="status", ordering="status")
    def state(self, connection: GoogleCalendarConnection) -> str:
        return status_text(connection)

    @admin.display(description="manage")
    def manage(self, connection: GoogleCalendarConnection) -> str:
        url = reverse("admin:bookings_business_change", args=[connection.business_id])
        return format_html(
            '<a href="{}#google-calendar">{}</a>',
            url,
            f"Connect, choose calendars or disconnect on {connection.business}'s page",
        )


def _sync(booking: Booking) -> CalendarEventSync | None:
    if booking.pk is None:
        return None
    try:
        return booking.calendar_event_sync
    except CalendarEventSync.DoesNotExist:
        return None  # no calendar event was wanted


@admin.display(description="calendar sync", ordering="calendar_event_sync__status")
def calendar_sync(booking: Booking) -> str:
    sync = _sync(booking)
    return sync.get_status_display() if sync else "-"


@admin.display(description="calendar sync error")
def calendar_sync_error(booking: Booking) -> str:
    sync = _sync(booking)
    return sync.error if sync else ""


@admin.display(description="calendar event")
def calendar_event(booking: Booking) -> str:
    sync = _sync(booking)
    if sync is None or not sync.event_id:
        return ""
    return f"{sync.event_id} in {sync.calendar_id}"


@admin.action(description="Retry calendar sync now")
def retry_calendar_sync(modeladmin, request, queryset) -> None:
    waiting = CalendarEventSync.objects.filter(booking__in=queryset).exclude(
        status=CalendarEventSync.Status.NOT_REQUIRED
    )
    ids = retry_provider_follow_ups(list(waiting.values_list("booking_id", flat=True)))
    modeladmin.message_user(
        request, f"Queued {len(ids)} calendar update(s) to run now.", messages.SUCCESS
    )


# bookings never imports integrations: its admin pages learn about Google from here.
register_section(google_calendar_section)
BookingAdmin.readonly_fields = [
    *BookingAdmin.readonly_fields,
    calendar_sync,
    calendar_sync_error,
    calendar_event,
]
BookingAdmin.list_display = [*BookingAdmin.list_display, calendar_sync]
BookingAdmin.list_filter = [*BookingAdmin.list_filter, "calendar_event_sync__status"]
BookingAdmin.list_select_related = [*BookingAdmin.list_select_related, "calendar_event_sync"]
BookingAdmin.actions = [*BookingAdmin.actions, retry_calendar_sync]
