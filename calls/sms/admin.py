"""Admin for texts. Imported from calls/admin.py (Django's autodiscovery looks there only)."""

from __future__ import annotations

from django.contrib import admin

from calls.sms.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    """Read-only: what we texted whom, and why a text did not go out."""

    list_display = ["to", "kind", "status", "attempts", "provider_sid", "sent_at", "booking"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "provider_sid", "booking__customer_name"]
    list_select_related = ["booking__service"]
    readonly_fields = [field.name for field in SmsMessage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
