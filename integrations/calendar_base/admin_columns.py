"""A booking's calendar event on the bookings pages (sync status, error, "Retry ... now"),
one set per calendar integration, added to bookings' BookingAdmin from the integration's
admin module (bookings never imports integrations)."""

from __future__ import annotations

from django.contrib import admin, messages

from bookings.admin import BookingAdmin
from bookings.models import Booking
from bookings.tasks import retry_provider_follow_ups
from integrations.calendar_base.models import EventSync


def add_event_sync_to_booking_admin(
    *, sync_model: type[EventSync], related_name: str, prefix: str
) -> None:
    """`related_name` is the sync model's one-to-one from Booking; `prefix` words the
    columns ("calendar" -> "calendar sync", "calendar sync error", "calendar event", and the
    action "Retry calendar sync now", named retry_calendar_sync)."""
    slug = prefix.lower().replace(" ", "_")

    def _sync(booking: Booking) -> EventSync | None:
        if booking.pk is None:
            return None
        try:
            return getattr(booking, related_name)
        except sync_model.DoesNotExist:
            return None  # no event was wanted

    @admin.display(description=f"{prefix} sync", ordering=f"{related_name}__status")
    def sync_status(booking: Booking) -> str:
        sync = _sync(booking)
        return sync.get_status_display() if sync else "-"

    @admin.display(description=f"{prefix} sync error")
    def sync_error(booking: Booking) -> str:
        sync = _sync(booking)
        return sync.error if sync else ""

    @admin.display(description=f"{prefix} event")
    def event(booking: Booking) -> str:
        sync = _sync(booking)
        if sync is None or not sync.event_id:
            return ""
        return f"{sync.event_id} in {sync.calendar_id or 'the default calendar'}"

    def retry(modeladmin, request, queryset) -> None:
        waiting = sync_model.objects.filter(booking__in=queryset).exclude(
            status=EventSync.Status.NOT_REQUIRED
        )
        ids = retry_provider_follow_ups(list(waiting.values_list("booking_id", flat=True)))
        modeladmin.message_user(
            request, f"Queued {len(ids)} {prefix} update(s) to run now.", messages.SUCCESS
        )

    sync_status.__name__ = f"{slug}_sync"
    sync_error.__name__ = f"{slug}_sync_error"
    event.__name__ = f"{slug}_event"
    retry.__name__ = f"retry_{slug}_sync"
    retry = admin.action(description=f"Retry {prefix} sync now")(retry)
    BookingAdmin.readonly_fields = [*BookingAdmin.readonly_fields, sync_status, sync_error, event]
    BookingAdmin.list_display = [*BookingAdmin.list_display, sync_status]

    class SyncStatusFilter(admin.ChoicesFieldListFilter):
        """Titled for what it filters: beside the booking's own status, a second "By status"
        read as the same thing twice."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.title = f"{prefix} sync"

    BookingAdmin.list_filter = [
        *BookingAdmin.list_filter,
        (f"{related_name}__status", SyncStatusFilter),
    ]
    BookingAdmin.list_select_related = [*BookingAdmin.list_select_related, related_name]
    BookingAdmin.actions = [*BookingAdmin.actions, retry]
