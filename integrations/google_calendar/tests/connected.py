"""A business connected to the fake Google, as the OAuth callback would leave it."""

from __future__ import annotations

from bookings.models import Business
from integrations.google_calendar import connections
from integrations.google_calendar.models import GoogleCalendarConnection
from integrations.google_calendar.tests.fake_google import FakeGoogle


def connect_business(
    business: Business, fake_google: FakeGoogle, *, expires_in: int = 3600
) -> GoogleCalendarConnection:
    tokens = fake_google.issue_tokens(expires_in=expires_in)
    return connections.save_connected(
        business=business,
        user=None,
        account_email=fake_google.account_email,
        refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=tokens["expires_at"],
        scopes=tokens["scope"].split(),
    )
