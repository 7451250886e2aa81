"""A business's connection to one Google account's calendars, tokens encrypted at rest."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bookings.models import Booking, Business
from integrations.tokens import UNREADABLE_TOKEN, TokenField

PRIMARY = "primary"
UNREADABLE_TOKENS_TEXT = "Needs reconnect: stored tokens can't be read with the current keys"


def default_busy_calendars() -> list[str]:
    return [PRIMARY]


class GoogleCalendarConnection(models.Model):
    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="google_calendar"
    )
    account_email = models.EmailField(blank=True)
    write_calendar_id = models.CharField(
        "calendar events are written to", max_length=255, default=PRIMARY
    )
    busy_calendar_ids = models.JSONField(
        "calendars checked for busy times", default=default_busy_calendars, blank=True
    )
    # Fernet-encrypted (FERNET_KEYS). None means "no token": never an empty ciphertext.
    refresh_token = TokenField(null=True, blank=True, editable=False)
    access_token = TokenField(null=True, blank=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    granted_scopes = models.JSONField(default=list, blank=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DISCONNECTED)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Google Calendar connection"

    def __str__(self) -> str:
        who = self.account_email or "no account"
        return f"{self.business} - {who} ({self.get_status_display()})"

    @property
    def tokens_unreadable(self) -> bool:
        """FERNET_KEYS no longer opens the stored tokens: only a reconnect helps (or the old
        key back in FERNET_KEYS)."""
        return UNREADABLE_TOKEN in (self.refresh_token, self.access_token)

    @property
    def is_usable(self) -> bool:
        """Connected with a refresh token: worth asking Google."""
        return self.status == self.Status.CONNECTED and bool(self.refresh_token)


class CalendarEventSync(models.Model):
    """A booking's event in the business's Google Calendar: where it was written and how
    keeping it in step stands. Made when a Google Calendar booking wants an event; the
    outbox tasks (event_sync) move it along; staff see it on the booking in admin."""

    class Status(models.TextChoices):
        NOT_REQUIRED = "not_required", "Not required"
        PENDING = "pending", "Pending"
        SYNCED = "synced", "Synced"
        FAILED = "failed", "Failed"

    booking = models.OneToOneField(
        Booking,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="calendar_event_sync",
    )
    # The calendar holding the event (the one it was written to) and the event's id there.
    calendar_id = models.CharField(max_length=255, blank=True)
    event_id = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "calendar event"

    def __str__(self) -> str:
        return f"{self.booking} ({self.get_status_display()})"
