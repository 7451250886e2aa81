"""Calls in admin: a read-only record of what happened, with the transcript as a conversation.

Everything shown is escaped: transcript text is whatever the caller said (or typed into the
simulator), so it is rendered through format_html / format_html_join only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import admin
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join

from bookings.admin import BusinessAdmin, BusinessColumnMixin, admin_page
from bookings.schedule_views import choose_business
from calls.dashboard_views import dashboard_page
from calls.models import Call, ReceptionistSettings

TIME_FORMAT = "%Y-%m-%d %H:%M %Z"
TURN_TIME_FORMAT = "%H:%M:%S"


def _local(moment: datetime, call: Call, fmt: str = TIME_FORMAT) -> str:
    return moment.astimezone(call.business.tz).strftime(fmt)


def _duration(span: timedelta) -> str:
    minutes, seconds = divmod(int(span.total_seconds()), 60)
    return f"{minutes}:{seconds:02d}"


@admin.register(Call)
class CallAdmin(BusinessColumnMixin, admin.ModelAdmin):
    # The SID (34 characters) is on the call's page and searchable; the list leads with when.
    list_display = ["started", "business", "caller", "duration", "outcome", "booking_made"]
    list_display_links = ["started"]
    list_filter = ["outcome", "business", "channel"]
    search_fields = ["sid", "from_number"]
    list_select_related = ["business", "booking__service", "booking__business"]
    fieldsets = [
        (None, {"fields": ["sid", "business", "channel", "from_number", "to_number", "engine"]}),
        ("When", {"fields": ["started", "ended", "duration"]}),
        ("Outcome", {"fields": ["outcome", "booking_link", "message", "handoff_to"]}),
        ("Transcript", {"fields": ["transcript"]}),
        ("Twilio session", {"fields": ["session_status", "session_error", "event_list"]}),
    ]
    readonly_fields = [
        "sid",
        "business",
        "channel",
        "from_number",
        "to_number",
        "engine",
        "started",
        "ended",
        "duration",
        "outcome",
        "booking_link",
        "message",
        "handoff_to",
        "transcript",
        "session_status",
        "session_error",
        "event_list",
    ]

    # Calls are written by the call loop and Twilio's webhooks only: staff look, never edit.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        def view(func, *args):
            return admin_page(self, func, *args)

        return [
            path(
                "dashboard/",
                view(choose_business, "admin:calls_call_dashboard", "Dashboard"),
                name="calls_call_choose_dashboard",
            ),
            path(
                "dashboard/<str:business_id>/",
                view(dashboard_page),
                name="calls_call_dashboard",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="started", ordering="started_at")
    def started(self, call: Call) -> str:
        return format_html('<span class="nowrap">{}</span>', _local(call.started_at, call))

    @admin.display(description="caller", ordering="from_number")
    def caller(self, call: Call) -> str:
        if call.channel == Call.Channel.SIMULATOR:
            return f"{call.from_number or '-'} (simulator)"
        return call.from_number or "-"

    @admin.display(description="booking", ordering="booking")
    def booking_made(self, call: Call) -> str:
        if call.booking is None:
            return "-"
        url = reverse("admin:bookings_booking_change", args=[call.booking_id])
        return format_html(
            '<a href="{}">{} for {}</a>', url, call.booking.service, call.booking.customer_name
        )

    @admin.display(description="ended", ordering="ended_at")
    def ended(self, call: Call) -> str:
        return _local(call.ended_at, call) if call.ended_at else "-"

    @admin.display(description="duration")
    def duration(self, call: Call) -> str:
        if call.ended_at is None:
            return "-"
        return _duration(call.ended_at - call.started_at)

    @admin.display(description="booking", ordering="booking")
    def booking_link(self, call: Call) -> str:
        if call.booking is None:
            return "-"
        url = reverse("admin:bookings_booking_change", args=[call.booking_id])
        return format_html('<a href="{}">{}</a>', url, call.booking)

    @admin.display(description="transcript")
    def transcript(self, call: Call) -> str:
        turns = list(call.turns.all())
        if not turns:
            return "Nothing was said."
        interrupted = format_html('<span class="call-turn-interrupted">{}</span>', "(interrupted)")
        rows = format_html_join(
            "\n",
            '<div class="call-turn call-turn-{}"><div class="call-turn-meta">{} '
            '<time datetime="{}">{}</time> {}</div><div class="call-turn-text">{}</div></div>',
            (
                (
                    turn.speaker,
                    turn.get_speaker_display(),
                    turn.at.isoformat(),
                    _local(turn.at, call, TURN_TIME_FORMAT),
                    interrupted if turn.interrupted else "",
                    turn.text,
                )
                for turn in turns
            ),
        )
        return format_html('<div class="call-transcript">{}</div>', rows)

    @admin.display(description="events")
    def event_list(self, call: Call) -> str:
        events = [e for e in call.events if isinstance(e, dict)]
        if not events:
            return "-"
        return format_html(
            '<ul class="call-events">{}</ul>',
            format_html_join(
                "\n",
                "<li>{} <strong>{}</strong> {}</li>",
                (
                    (self._event_time(call, e.get("at")), e.get("event", ""), e.get("detail", ""))
                    for e in events
                ),
            ),
        )

    @staticmethod
    def _event_time(call: Call, at: object) -> str:
        moment = parse_datetime(at) if isinstance(at, str) else None
        if moment is None or moment.tzinfo is None:
            return str(at or "")
        return _local(moment, call)


import calls.sms.admin  # noqa: E402, F401  (SMS records in admin)


class ReceptionistSettingsInline(admin.StackedInline):
    """On the business's page: which dialogue engine answers its calls."""

    model = ReceptionistSettings
    template = "admin/edit_inline/single_stacked.html"
    can_delete = False
    extra = 1
    max_num = 1
    verbose_name = "how calls are answered"
    verbose_name_plural = "how calls are answered"


# calls builds on bookings (never the other way): the inline joins the business page here.
BusinessAdmin.inlines = [*BusinessAdmin.inlines, ReceptionistSettingsInline]
BusinessAdmin.extra_shortcuts = [
    *BusinessAdmin.extra_shortcuts,
    ("Dashboard", lambda business: reverse("admin:calls_call_dashboard", args=[business.pk])),
]
