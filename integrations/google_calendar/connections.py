"""Writes to a GoogleCalendarConnection, through the shared ConnectionStore: the OAuth
callback, the API client's token refresh and the provider's degradation all save through
these functions, never by poking fields deep inside a client."""

from __future__ import annotations

from integrations.calendar_base.connections import (
    API_DOWN,
    CALENDAR_ERROR,
    NOT_CONNECTED,
    RATE_LIMITED,
    REVOKE_FAILED,
    TOKEN_REVOKED,
    ConnectionStore,
)
from integrations.google_calendar.models import CalendarEventSync, GoogleCalendarConnection

__all__ = ["API_DOWN", "CALENDAR_ERROR", "NOT_CONNECTED", "RATE_LIMITED", "TOKEN_REVOKED"]

# What went wrong, in words staff understand (shown in admin with the details).
PROBLEM_LABELS = {
    NOT_CONNECTED: "Google Calendar is not connected",
    API_DOWN: "Google Calendar did not answer",
    TOKEN_REVOKED: "Google refused our token: reconnect the calendar",
    RATE_LIMITED: "Google rate-limited us",
    CALENDAR_ERROR: "Google reported an error for a calendar",
    REVOKE_FAILED: "Google did not confirm revoking our access",
}

store = ConnectionStore(
    model=GoogleCalendarConnection,
    sync_model=CalendarEventSync,
    calendar="Google Calendar",
    key="google",
    labels=PROBLEM_LABELS,
)

connection_for = store.connection_for
save_connected = store.save_connected
save_access_token = store.save_access_token
record_problem = store.record_problem
record_undecryptable = store.record_undecryptable
wipe_tokens = store.wipe_tokens
save_account_email = store.save_account_email
save_calendar_choice = store.save_calendar_choice
