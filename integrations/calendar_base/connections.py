"""Writes to a calendar connection. A connection's tokens and health are owned here: the
OAuth callback, the client's token refresh and the provider's degradation all save through
one ConnectionStore (one per integration), never by poking fields deep inside a client."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.utils import timezone

from bookings.models import Business
from bookings.notifications import CALENDAR_DOWN_MEANWHILE, notify_calendar_needs_reconnect
from bookings.tasks import retry_provider_follow_ups
from integrations.calendar_base import errors
from integrations.calendar_base.models import CalendarConnection, EventSync

logger = logging.getLogger(__name__)

ERROR_LIMIT = 2000


@dataclass(frozen=True)
class ConnectionStore:
    """The writes for one integration's connection model.

    `calendar` names the service for staff ("Google Calendar"); `labels` words each problem
    kind; `key` prefixes the once-only staff notices; `meanwhile` tells staff what callers get
    until a lost grant is reconnected. `sync_model` is None for an integration that writes no
    events of its own (Calendly books in Calendly itself)."""

    model: type[CalendarConnection]
    sync_model: type[EventSync] | None
    calendar: str
    key: str
    labels: dict[str, str]
    meanwhile: str = CALENDAR_DOWN_MEANWHILE

    def connection_for(self, business: Business) -> CalendarConnection | None:
        return self.model.objects.filter(business=business).first()

    def label(self, kind: str) -> str:
        return self.labels.get(kind, kind)

    def save_connected(
        self,
        *,
        business: Business,
        user,
        account_email: str,
        refresh_token: str,
        access_token: str,
        expires_at: datetime | None,
        scopes: list[str],
    ) -> CalendarConnection:
        """The OAuth callback succeeded: store the tokens and mark the connection connected.
        Calendar choices made earlier are kept (a reconnect should not reset them)."""
        connection, _ = self.model.objects.get_or_create(business=business)
        connection.account_email = account_email
        connection.refresh_token = refresh_token
        connection.access_token = access_token
        connection.access_token_expires_at = expires_at
        connection.granted_scopes = sorted(scopes)
        connection.status = self.model.Status.CONNECTED
        connection.last_error = ""
        connection.last_error_at = None
        connection.connected_by = user
        connection.connected_at = timezone.now()
        connection.save()
        logger.info("%s connected for %s as %s.", self.calendar, business.slug, account_email)
        if self.sync_model is None:
            return connection
        # Events that waited for a working connection (e.g. after a revoked token) go now.
        waiting = self.sync_model.objects.filter(
            booking__business=business,
            status__in=[EventSync.Status.PENDING, EventSync.Status.FAILED],
        ).values_list("booking_id", flat=True)
        retry_provider_follow_ups(list(waiting))
        return connection

    def save_access_token(
        self,
        *,
        connection: CalendarConnection,
        access_token: str,
        expires_at: datetime | None,
        refresh_token: str | None = None,
    ) -> None:
        """A refreshed access token (and a rotated refresh token, when one was sent)."""
        connection.access_token = access_token
        connection.access_token_expires_at = expires_at
        fields = ["access_token", "access_token_expires_at", "updated_at"]
        if refresh_token and refresh_token != connection.refresh_token:
            connection.refresh_token = refresh_token
            fields.append("refresh_token")
        connection.save(update_fields=fields)

    def record_problem(
        self,
        *,
        connection: CalendarConnection,
        kind: str,
        detail: str = "",
        needs_reconnect: bool = False,
    ) -> None:
        """Something went wrong talking to the calendar: visible in admin, logged, never
        swallowed. A grant that just died also tells the staff, once per connection."""
        label = self.label(kind)
        message = f"{label}: {detail}" if detail else label
        connection.last_error = message[:ERROR_LIMIT]
        connection.last_error_at = timezone.now()
        fields = ["last_error", "last_error_at", "updated_at"]
        Status = self.model.Status
        newly_dead = needs_reconnect and connection.status != Status.NEEDS_RECONNECT
        if needs_reconnect:
            connection.status = Status.NEEDS_RECONNECT
            connection.access_token = None
            connection.access_token_expires_at = None
            fields += ["status", "access_token", "access_token_expires_at"]
        connection.save(update_fields=fields)
        logger.warning(
            "%s problem for %s: %s", self.calendar, connection.business.slug, connection.last_error
        )
        if newly_dead:
            connected = connection.connected_at.isoformat() if connection.connected_at else "never"
            notify_calendar_needs_reconnect(
                business=connection.business,
                calendar=self.calendar,
                key=f"{self.key}:{connection.pk}:{connected}",
                detail=label,
                meanwhile=self.meanwhile,
            )

    def record_undecryptable(self, *, business: Business) -> None:
        """The stored tokens can't be decrypted (FERNET_KEYS changed): say so on the
        connection without loading it (loading means decrypting)."""
        self.model.objects.filter(business=business).update(
            last_error=(
                f"The stored {self.calendar} tokens cannot be decrypted with the current "
                "FERNET_KEYS: restore the old key (then run rotate_fernet_keys) or reconnect "
                "the calendar."
            ),
            last_error_at=timezone.now(),
        )

    def wipe_tokens(self, *, connection: CalendarConnection) -> None:
        """Disconnected: no token stays behind."""
        connection.refresh_token = None
        connection.access_token = None
        connection.access_token_expires_at = None
        connection.granted_scopes = []
        connection.status = self.model.Status.DISCONNECTED
        connection.save(
            update_fields=[
                "refresh_token",
                "access_token",
                "access_token_expires_at",
                "granted_scopes",
                "status",
                "updated_at",
            ]
        )
        logger.info("%s disconnected for %s.", self.calendar, connection.business.slug)

    def save_account_email(self, *, connection: CalendarConnection, account_email: str) -> None:
        """The connected account, learnt from the service after the exchange."""
        connection.account_email = account_email
        connection.save(update_fields=["account_email", "updated_at"])

    def save_calendar_choice(
        self,
        *,
        connection: CalendarConnection,
        busy_calendar_ids: list[str],
        write_calendar_id: str,
        account_email: str,
    ) -> None:
        """Staff picked the calendars checked for busy times and the one events go to."""
        connection.busy_calendar_ids = list(busy_calendar_ids)
        connection.write_calendar_id = write_calendar_id
        connection.account_email = account_email
        connection.save(
            update_fields=["busy_calendar_ids", "write_calendar_id", "account_email", "updated_at"]
        )
        logger.info(
            "%s for %s: busy checks on %s, events written to %s.",
            self.calendar,
            connection.business.slug,
            ", ".join(busy_calendar_ids),
            write_calendar_id,
        )


def is_disconnected(connection: models.Model | None) -> bool:
    return connection is None or connection.status == CalendarConnection.Status.DISCONNECTED


# Re-exported so a provider's connections module reads as before.
NOT_CONNECTED = errors.NOT_CONNECTED
API_DOWN = errors.API_DOWN
TOKEN_REVOKED = errors.TOKEN_REVOKED
RATE_LIMITED = errors.RATE_LIMITED
CALENDAR_ERROR = errors.CALENDAR_ERROR
REVOKE_FAILED = errors.REVOKE_FAILED
