"""Google Calendar in admin: each connection's health, read-only, and a section on the
business's page with Connect / Choose calendars / Disconnect.

No token is ever shown, not even masked: the token fields are simply not in any admin form or
list. Connections change only through the connect flow (views.py), never by editing here.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from bookings.admin import BusinessAdmin
from bookings.admin_times import business_time_column
from integrations.google_calendar.models import GoogleCalendarConnection
from integrations.google_calendar.templatetags.google_calendar_admin import status_text

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


# bookings never imports integrations: the business page learns about Google from here.
BusinessAdmin.change_form_template = "google_calendar/admin/business_change_form.html"
