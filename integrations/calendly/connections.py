"""Writes to a CalendlyConnection. Its tokens and health are owned here: the OAuth callback,
the client's token refresh and the provider's degradation all save through these functions."""

from __future__ import annotations

import logging
from datetime import datetime

from bookings.models import Business
from integrations.calendar_base.connections import (
    API_DOWN,
    ERROR_LIMIT,
    NOT_CONNECTED,
    RATE_LIMITED,
    REVOKE_FAILED,
    TOKEN_REVOKED,
    ConnectionStore,
)
from integrations.calendly.models import CalendlyConnection

__all__ = ["API_DOWN", "ERROR_LIMIT", "NOT_CONNECTED", "RATE_LIMITED", "TOKEN_REVOKED"]

logger = logging.getLogger(__name__)

# What went wrong, in words staff understand (shown in admin with the details); the shared
# kinds come from calendar_base, these are Calendly's own.
NOT_ALLOWED = "not_allowed"
REFUSED = "refused"
NO_EVENT_TYPE = "no_event_type"
NO_INVITEE_EMAIL = "no_invitee_email"
UNCONFIRMED = "unconfirmed"
CANCEL_FAILED = "cancel_failed"
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


store = ConnectionStore(
    model=CalendlyConnection,
    sync_model=None,
    calendar="Calendly",
    key="calendly",
    labels=PROBLEM_LABELS,
    meanwhile=MEANWHILE,
)

connection_for = store.connection_for
record_problem = store.record_problem
record_undecryptable = store.record_undecryptable
wipe_tokens = store.wipe_tokens


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
    """The OAuth callback succeeded: the tokens, and whom they act for (the event-type
    choices and the phone-booking email made earlier are kept)."""
    connection = store.save_connected(
        business=business,
        user=user,
        account_email="",
        refresh_token=refresh_token,
        access_token=access_token,
        expires_at=expires_at,
        scopes=scopes,
    )
    connection.user_uri = user_uri
    connection.organization_uri = organization_uri
    connection.save(update_fields=["user_uri", "organization_uri", "updated_at"])
    return connection


def save_user(*, connection: CalendlyConnection, name: str, email: str, user_uri: str) -> None:
    """Who is connected, from GET /users/me (shown as "Connected as ...")."""
    connection.user_name = name[:255]
    connection.account_email = email
    connection.user_uri = user_uri or connection.user_uri
    connection.save(update_fields=["user_name", "account_email", "user_uri", "updated_at"])


def save_invitee_email(*, connection: CalendlyConnection, invitee_email: str) -> None:
    connection.invitee_email = invitee_email
    connection.save(update_fields=["invitee_email", "updated_at"])
