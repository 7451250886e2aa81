"""Abstract models every calendar integration builds on: a business's connection to one
account (tokens encrypted at rest, health for staff) and a booking's event in that calendar."""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import models
from fernet_fields import EncryptedTextField

UNREADABLE_TOKENS_TEXT = "Needs reconnect: stored tokens can't be read with the current keys"


class _UnreadableToken:
    """A stored token the current FERNET_KEYS cannot decrypt (a key was removed or changed).
    Falsy, so nothing takes it for a token; the row still loads, so every page can say what
    is wrong and a reconnect can overwrite it."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<unreadable token>"


UNREADABLE_TOKEN = _UnreadableToken()


class TokenField(EncryptedTextField):
    """A Fernet-encrypted token that reads as UNREADABLE_TOKEN instead of raising InvalidToken
    wherever its row is loaded (admin lists, the business page, the connect callback)."""

    def from_db_value(self, value, expression, connection, *args):
        try:
            return super().from_db_value(value, expression, connection, *args)
        except InvalidToken:
            return UNREADABLE_TOKEN

    def get_db_prep_save(self, value, connection):
        if value is UNREADABLE_TOKEN:
            raise ValueError("An unreadable token is never written back: reconnect instead.")
        return super().get_db_prep_save(value, connection)

    def deconstruct(self):
        # The same column and the same bytes as the library's field; only reading a value
        # that won't decrypt differs, so migrations keep naming the library's field.
        name, _path, args, kwargs = super().deconstruct()
        return name, "fernet_fields.fields.EncryptedTextField", args, kwargs


class CalendarConnection(models.Model):
    """A business's connection to one calendar account. Concrete models add the business
    (a one-to-one with their own related name) and which calendars are used."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    account_email = models.EmailField(blank=True)
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
        abstract = True

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
        """Connected with a refresh token: worth asking the calendar."""
        return self.status == self.Status.CONNECTED and bool(self.refresh_token)


class EventSync(models.Model):
    """A booking's event in an outside calendar: where it was written and how keeping it in
    step stands. Concrete models add the booking (a one-to-one primary key with their own
    related name). Made when a booking wants an event; the outbox tasks (event_sync) move it
    along; staff see it on the booking in admin."""

    class Status(models.TextChoices):
        NOT_REQUIRED = "not_required", "Not required"
        PENDING = "pending", "Pending"
        SYNCED = "synced", "Synced"
        FAILED = "failed", "Failed"

    # The calendar holding the event (the one it was written to) and the event's id there.
    calendar_id = models.CharField(max_length=255, blank=True)
    event_id = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.booking} ({self.get_status_display()})"
