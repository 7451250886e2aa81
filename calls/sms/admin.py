"""Admin for texts. Imported from calls/admin.py (Django's autodiscovery looks there only)."""

from __future__ import annotations

from django.contrib import admin

from bookings.admin import BusinessColumnMixin
from bookings.admin_times import business_time_column
from calls.sms.models import IncomingSms, SmsMessage, SmsOptOut


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    """Read-only: what we texted whom, and why a text did not go out. Times in the business's
    zone, as on its calls and bookings."""

    # The provider's id (34 characters) and the attempts are on the text's page.
    list_display = ["to", "kind", "status", "sent_local", "for_booking"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "provider_sid", "booking__customer_name"]
    list_select_related = ["booking__service", "booking__business"]
    fields = [
        "booking",
        "kind",
        "to",
        "sender",
        "body",
        "status",
        "provider_sid",
        "attempts",
        "error",
        "first_attempt_local",
        "sent_local",
        "created_local",
        "updated_local",
    ]
    readonly_fields = fields

    sent_local = business_time_column("sent_at", "booking.business", "sent")
    first_attempt_local = business_time_column(
        "first_attempt_at", "booking.business", "first attempt"
    )
    created_local = business_time_column("created_at", "booking.business", "created")
    updated_local = business_time_column("updated_at", "booking.business", "updated")

    @admin.display(description="booking", ordering="booking")
    def for_booking(self, sms: SmsMessage) -> str:
        return f"{sms.booking.service} for {sms.booking.customer_name}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IncomingSms)
class IncomingSmsAdmin(BusinessColumnMixin, admin.ModelAdmin):
    """What customers texted the business, and what it did: read them here, call back."""

    list_display = ["received_local", "from_number", "business", "body", "action", "booking"]
    list_filter = ["action", "business"]
    search_fields = ["from_number", "body"]
    list_select_related = ["business", "booking__service"]
    fields = ["business", "from_number", "body", "action", "booking", "note", "received_local"]
    readonly_fields = fields

    received_local = business_time_column("received_at", "business", "received")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    """Numbers that texted STOP: they get no texts until they text START. Changed only by
    the customer's own texts."""

    list_display = ["phone", "business", "opted_out_local"]
    list_filter = ["business"]
    search_fields = ["phone"]
    fields = ["phone", "business", "opted_out_local"]
    readonly_fields = fields

    opted_out_local = business_time_column("opted_out_at", "business", "opted out")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
