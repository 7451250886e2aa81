"""Each calendar connection's health in admin, read-only. No token is ever shown, not even
masked: the token fields are simply not in any admin form or list. Connections change only
through the connect flow, never by editing here."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from bookings.admin_times import business_time_column
from integrations.calendar_base.models import UNREADABLE_TOKENS_TEXT, CalendarConnection


class CalendarConnectionAdmin(admin.ModelAdmin):
    # Set by subclasses: the business page's section anchor and the status wording.
    section_anchor: ClassVar[str]
    status_text: ClassVar[Callable[[CalendarConnection], str]]
    # What staff choose on the integration's own page.
    choices: ClassVar[str] = "calendars"

    list_display = ["business", "state", "account_email", "last_error_local", "connected_local"]
    list_filter = ["status"]
    search_fields = ["business__name", "business__slug", "account_email"]
    list_select_related = ["business"]

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
        # Deleting the row would leave the grant alive: Disconnect on the business's page.
        return False

    @admin.display(description="status", ordering="status")
    def state(self, connection: CalendarConnection) -> str:
        return type(self).status_text(connection)

    @admin.display(description="manage")
    def manage(self, connection: CalendarConnection) -> str:
        url = reverse("admin:bookings_business_change", args=[connection.business_id])
        return format_html(
            '<a href="{}#{}">{}</a>',
            url,
            self.section_anchor,
            f"Connect, choose {self.choices} or disconnect on {connection.business}'s page",
        )


def connection_status_text(connection: CalendarConnection | None, *, service: str) -> str:
    """ "Connected as ...", "Needs reconnect: ...", "Not connected" for staff."""
    Status = CalendarConnection.Status
    if connection is None:
        return "Not connected"
    if connection.tokens_unreadable:
        return UNREADABLE_TOKENS_TEXT
    if connection.status == Status.DISCONNECTED:
        return "Not connected"
    if connection.status == Status.NEEDS_RECONNECT:
        return f"Needs reconnect: {connection.last_error or f'{service} refused our token'}"
    if connection.account_email:
        return f"Connected as {connection.account_email}"
    return "Connected"
