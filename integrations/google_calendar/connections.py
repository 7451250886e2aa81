"""Writes to a GoogleCalendarConnection. The connection's tokens and health are owned here:
the OAuth callback, the API client's token refresh and the provider's degradation all save
through these functions, never by poking fields deep inside a client."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from bookings.models import Business
from bookings.notifications import notify_calendar_needs_reconnect
from bookings.tasks import retry_provider_follow_ups
from integrations.google_calendar.models import CalendarEventSync, GoogleCalendarConnection

logger = logging.getLogger(__name__)

ERROR_LIMIT = 2000

# What went wrong, in words staff understand (shown in admin with the details).
NOT_CONNECTED = "not_connected"
API_DOWN = "api_down"
TOKEN_REVOKED = "token_revoked"
RATE_LIMITED = "rate_limited"
CALENDAR_ERROR = "calendar_error"
REVOKE_FAILED = "revoke_failed"
PROBLEM_LABELS = {
    NOT_CONNECTED: "Google Calendar is not connected",
    API_DOWN: "Google Calendar did not answer",
    TOKEN_REVOKED: "Google refused our token: reconnect the calendar",
    RATE_LIMITED: "Google rate-limited us",
    CALENDAR_ERROR: "Google reported an error for a calendar",
    REVOKE_FAILED: "Google did not confirm revoking our access",
}


def connection_for(business: Business) -> GoogleCalendarConnection | None:
    return GoogleCalendarConnection.objects.filter(business=business).first()


def save_connected(
    *,
    business: Business,
    user,
    account_email: str,
    refresh_token: str,
    access_token: str,
    expires_at: datetime | None,
    scopes: list[str],
) -> GoogleCalendarConnection:
    """The OAuth callback succeeded: store the tokens and mark the connection connected.
    Calendar choices made earlier are kept (a reconnect should not reset them)."""
    connection, _ = GoogleCalendarConnection.objects.get_or_create(business=business)
    connection.account_email = account_email
    connection.refresh_token = refresh_token
    connection.access_token = access_token
    connection.access_token_expires_at = expires_at
    connection.granted_scopes = sorted(scopes)
    connection.status = GoogleCalendarConnection.Status.CONNECTED
    connection.last_error = ""
    connection.last_error_at = None
    connection.connected_by = user
    connection.connected_at = timezone.now()
    connection.save()
    logger.info("Google Calendar connected for %s as %s.", business.slug, account_email)
    # Events that waited for a working connection (e.g. after a revoked token) go now.
    waiting = CalendarEventSync.objects.filter(
        booking__business=business,
        status__in=[CalendarEventSync.Status.PENDING, CalendarEventSync.Status.FAILED],
    ).values_list("booking_id", flat=True)
    retry_provider_follow_ups(list(waiting))
    return connection


def save_access_token(
    *,
    connection: GoogleCalendarConnection,
    access_token: str,
    expires_at: datetime | None,
    refresh_token: str | None = None,
) -> None:
    """A refreshed access token (and a rotated refresh token, when Google sends one)."""
    connection.access_token = access_token
    connection.access_token_expires_at = expires_at
    fields = ["access_token", "access_token_expires_at", "updated_at"]
    if refresh_token and refresh_token != connection.refresh_token:
        connection.refresh_token = refresh_token
        fields.append("refresh_token")
    connection.save(update_fields=fields)


def record_problem(
    *, connection: GoogleCalendarConnection, kind: str, detail: str = "", needs_reconnect=False
) -> None:
    """Something went wrong talking to Google: visible in admin, logged, never swallowed."""
    label = PROBLEM_LABELS.get(kind, kind)
    message = f"{label}: {detail}" if detail else label
    connection.last_error = message[:ERROR_LIMIT]
    connection.last_error_at = timezone.now()
    fields = ["last_error", "last_error_at", "updated_at"]
    newly_dead = (
        needs_reconnect and connection.status != GoogleCalendarConnection.Status.NEEDS_RECONNECT
    )
    if needs_reconnect:
        connection.status = GoogleCalendarConnection.Status.NEEDS_RECONNECT
        connection.access_token = None
        connection.access_token_expires_at = None
        fields += ["status", "access_token", "access_token_expires_at"]
    connection.save(update_fields=fields)
    logger.warning(
        "Google Calendar problem for %s: %s", connection.business.slug, connection.last_error
    )
    if newly_dead:
        connected = connection.connected_at.isoformat() if connection.connected_at else "never"
        notify_calendar_needs_reconnect(
            business=connection.business,
            calendar="Google Calendar",
            key=f"google:{connection.pk}:{connected}",
            detail=label,
        )


def record_undecryptable(*, business: Business) -> None:
    """The stored tokens can't be decrypted (FERNET_KEYS changed): say so on the connection
    without loading it (loading means decrypting)."""
    GoogleCalendarConnection.objects.filter(business=business).update(
        last_error=(
            "The stored Google tokens cannot be decrypted with the current FERNET_KEYS: "
            "restore the old key (then run rotate_fernet_keys) or reconnect the calendar."
        ),
        last_error_at=timezone.now(),
    )


def wipe_tokens(*, connection: GoogleCalendarConnection) -> None:
    """Disconnected: no token stays behind."""
    connection.refresh_token = None
    connection.access_token = None
    connection.access_token_expires_at = None
    connection.granted_scopes = []
    connection.status = GoogleCalendarConnection.Status.DISCONNECTED
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
    logger.info("Google Calendar disconnected for %s.", connection.business.slug)


def save_account_email(*, connection: GoogleCalendarConnection, account_email: str) -> None:
    """The connected Google account, learnt from its primary calendar after the exchange."""
    connection.account_email = account_email
    connection.save(update_fields=["account_email", "updated_at"])


def save_calendar_choice(
    *,
    connection: GoogleCalendarConnection,
    busy_calendar_ids: list[str],
    write_calendar_id: str,
    account_email: str,
) -> None:
    """Staff picked the calendars checked for busy times and the one events are written to."""
    connection.busy_calendar_ids = list(busy_calendar_ids)
    connection.write_calendar_id = write_calendar_id
    connection.account_email = account_email
    connection.save(
        update_fields=["busy_calendar_ids", "write_calendar_id", "account_email", "updated_at"]
    )
    logger.info(
        "Google Calendar for %s: busy checks on %s, events written to %s.",
        connection.business.slug,
        ", ".join(busy_calendar_ids),
        write_calendar_id,
    )
