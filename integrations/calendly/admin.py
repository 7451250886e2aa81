"""Calendly in admin: each connection's health (read-only), a section on the business's page
with Connect / Choose event types / Disconnect, and each booking's Calendly invitee.

No token is ever shown: the token fields are in no admin form or list.
"""

from __future__ import annotations

from django.contrib import admin

from bookings.admin import BookingAdmin
from bookings.models import Booking
from integrations.calendar_base.connection_admin import CalendarConnectionAdmin
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
class CalendlyConnectionAdmin(CalendarConnectionAdmin):
    section_anchor = "calendly"
    status_text = staticmethod(status_text)
    choices = "event types"
    search_fields = [*CalendarConnectionAdmin.search_fields, "user_name"]
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS


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
