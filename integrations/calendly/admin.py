"""Calendly in admin: each connection's health (read-only), a section on the business's page
with Connect / Choose event types / Disconnect, and each booking's Calendly invitee.

No token is ever shown: the token fields are in no admin form or list.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from bookings.admin import BookingAdmin
from bookings.admin_times import business_time_column
from bookings.models import Booking
from integrations.calendar_base.sections import register_section
from integrations.calendly.models import CalendlyBooking, CalendlyConnection
from integrations.calendly.templatetags.calendly_admin import calendly_section, status_text

SHOWN_FIELDS = [
    "business",
    "state",
    "user_name",
    "account_email",
    "user_uri",
    "organization_uri",
    "invitee_email",
    "granted_scopes",
    "last_error",
    "last_error_local",
    "connected_by",
    "connected_local",
    "updated_local",
    "manage",
]


@admin.register(CalendlyConnection)
class CalendlyConnectionAdmin(admin.ModelAdmin):
    list_display = ["business", "state", "account_email", "last_error_local", "connected_local"]
    list_filter = ["status"]
    search_fields = ["business__name", "business__slug", "account_email", "user_name"]
    list_select_related = ["business"]
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS

    last_error_local = business_time_column("last_error_at", "business", "last error at")
    connected_local = business_time_column("connected_at", "business", "connected at")
    updated_local = business_time_column("updated_at", "business", "updated")

    def has_add_permission(self, request) -> bool:
        return False  # a connection is made by connecting, on the business's page

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Disconnect revokes the grant at Calendly; deleting would not

    @admin.display(description="status", ordering="status")
    def state(self, connection: CalendlyConnection) -> str:
        return status_text(connection)

    @admin.display(description="manage")
    def manage(self, connection: CalendlyConnection) -> str:
        url = reverse("admin:bookings_business_change", args=[connection.business_id])
        return format_html(
            '<a href="{}#calendly">{}</a>',
            url,
            f"Connect, choose event types or disconnect on {connection.business}'s page",
        )


def _calendly(booking: Booking) -> CalendlyBooking | None:
    if booking.pk is None:
        return None
    try:
        return booking.calendly_booking
    except CalendlyBooking.DoesNotExist:
        return None


@admin.display(description="Calendly")
def calendly_status(booking: Booking) -> str:
    record = _calendly(booking)
    return record.get_status_display() if record else "-"


@admin.display(description="Calendly invitee")
def calendly_invitee(booking: Booking) -> str:
    record = _calendly(booking)
    if record is None:
        return ""
    return f"{record.invitee_uri}{f' ({record.error})' if record.error else ''}"


# bookings never imports integrations: its admin pages learn about Calendly from here.
register_section(calendly_section)
BookingAdmin.readonly_fields = [*BookingAdmin.readonly_fields, calendly_status, calendly_invitee]
BookingAdmin.list_select_related = [*BookingAdmin.list_select_related, "calendly_booking"]
