"""Writes to a CalendlyConnection. Its tokens and health are owned here: the OAuth callback,
the client's token refresh and the provider's degradation all save through these functions."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from bookings.models import Business
from bookings.notifications import notify_calendar_needs_reconnect
from integrations.calendly.models import CalendlyConnection

logger = logging.getLogger(__name__)

ERROR_LIMIT = 2000

# What went wrong, in words staff understand (shown in admin with the details).
NOT_CONNECTED = "not_connected"
API_DOWN = "api_down"
TOKEN_REVOKED = "token_revoked"
RATE_LIMITED = "rate_limited"
NOT_ALLOWED = "not_allowed"
REFUSED = "refused"
NO_EVENT_TYPE = "no_event_type"
NO_INVITEE_EMAIL = "no_invitee_email"
UNCONFIRMED = "unconfirmed"
CANCEL_FAILED = "cancel_failed"
REVOKE_FAILED = "revoke_failed"
PROBLEM_LABELS = {
    NOT_CONNECTED: "Calendly is not connected",
    API_DOWN: "Calendly did not answer",
    TOKEN_REVOKED: "Calendly refused our token: reconnect Calendly",
    RATE_LIMITED: "Calendly rate-limited us",
    NOT_ALLOWED: "Calendly does not allow this for the connected account",
    REFUSED: "Calendly refused a request",
    NO_EVENT_TYPE: "A service has no Calendly event type",
    NO_INVITEE_EMAIL: "No email is set for phone bookings in Calendly",
    UNCONFIRMED: "Calendly did not confirm a booking: check Calendly",
    CANCEL_FAILED: "Calendly did not cancel a booking",
    REVOKE_FAILED: "Calendly did not confirm revoking our access",
}
MEANWHILE = "Until it is reconnected, callers can't book by phone: they are offered a message."


def connection_for(business: Business) -> CalendlyConnection | None:
    return CalendlyConnection.objects.filter(business=business).first()


def save_connected(
    *,
    business: Business,
    user,
    refresh_token: str,
    access_token: str,
    expires_at: datetime | None,
    scopes: list[str],
    user_uri: str,
    organization_uri: str,
) -> CalendlyConnection:
    """The OAuth callback succeeded: store the tokens; the event-type choices and the
    phone-booking email made earlier are kept (a reconnect should not reset them)."""
    connection, _ = CalendlyConnection.objects.get_or_create(business=business)
    connection.refresh_token = refresh_token
    connection.access_token = access_token
    connection.access_token_expires_at = expires_at
    connection.granted_scopes = sorted(scopes)
    connection.user_uri = user_uri
    connection.organization_uri = organization_uri
    connection.status = CalendlyConnection.Status.CONNECTED
    connection.last_error = ""
    connection.last_error_at = None
    connection.connected_by = user
    connection.connected_at = timezone.now()
    connection.save()
    logger.info("Calendly connected for %s.", business.slug)
    return connection


def save_user(*, connection: CalendlyConnection, name: str, email: str, user_uri: str) -> None:
    """Who is connected, from GET /users/me (shown as "Connected as ...")."""
    connection.user_name = name[:255]
    connection.user_email = email
    connection.user_uri = user_uri or connection.user_uri
    connection.save(update_fields=["user_name", "user_email", "user_uri", "updated_at"])


def save_tokens(
    *,
    connection: CalendlyConnection,
    access_token: str,
    expires_at: datetime | None,
    refresh_token: str | None,
) -> None:
    """A refreshed token pair. Calendly's refresh tokens are single-use (rotated on every
    refresh), so the new one must be stored before anything else uses the connection."""
    connection.access_token = access_token
    connection.access_token_expires_at = expires_at
    fields = ["access_token", "access_token_expires_at", "updated_at"]
    if refresh_token:
        connection.refresh_token = refresh_token
        fields.append("refresh_token")
    connection.save(update_fields=fields)


def record_problem(
    *, connection: CalendlyConnection, kind: str, detail: str = "", needs_reconnect=False
) -> None:
    """Something went wrong with Calendly: visible in admin, logged, never swallowed."""
    label = PROBLEM_LABELS.get(kind, kind)
    message = f"{label}: {detail}" if detail else label
    connection.last_error = message[:ERROR_LIMIT]
    connection.last_error_at = timezone.now()
    fields = ["last_error", "last_error_at", "updated_at"]
    newly_dead = needs_reconnect and connection.status != CalendlyConnection.Status.NEEDS_RECONNECT
    if needs_reconnect:
        connection.status = CalendlyConnection.Status.NEEDS_RECONNECT
        connection.access_token = None
        connection.access_token_expires_at = None
        fields += ["status", "access_token", "access_token_expires_at"]
    connection.save(update_fields=fields)
    logger.warning("Calendly problem for %s: %s", connection.business.slug, connection.last_error)
    if newly_dead:
        connected = connection.connected_at.isoformat() if connection.connected_at else "never"
        notify_calendar_needs_reconnect(
            business=connection.business,
            calendar="Calendly",
            key=f"calendly:{connection.pk}:{connected}",
            detail=label,
            meanwhile=MEANWHILE,
        )


def record_undecryptable(*, business: Business) -> None:
    """The stored tokens can't be decrypted (FERNET_KEYS changed): say so without loading
    the row (loading means decrypting)."""
    CalendlyConnection.objects.filter(business=business).update(
        last_error=(
            "The stored Calendly tokens cannot be decrypted with the current FERNET_KEYS: "
            "restore the old key (then run rotate_fernet_keys) or reconnect Calendly."
        ),
        last_error_at=timezone.now(),
    )


def wipe_tokens(*, connection: CalendlyConnection) -> None:
    """Disconnected: no token stays behind."""
    connection.refresh_token = None
    connection.access_token = None
    connection.access_token_expires_at = None
    connection.granted_scopes = []
    connection.status = CalendlyConnection.Status.DISCONNECTED
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
    logger.info("Calendly disconnected for %s.", connection.business.slug)


def save_invitee_email(*, connection: CalendlyConnection, invitee_email: str) -> None:
    connection.invitee_email = invitee_email
    connection.save(update_fields=["invitee_email", "updated_at"])
