"""A business connected to the fake Microsoft, as the OAuth callback would leave it."""

from __future__ import annotations

from bookings.models import Business
from integrations.microsoft_calendar.connections import store
from integrations.microsoft_calendar.models import OutlookCalendarConnection
from integrations.microsoft_calendar.tests.fake_microsoft import FakeMicrosoft


def connect_business(
    business: Business, microsoft: FakeMicrosoft, *, expires_in: int = 3600
) -> OutlookCalendarConnection:
    tokens = microsoft.issue_tokens(expires_in=expires_in)
    return store.save_connected(
        business=business,
        user=None,
        account_email=microsoft.account_email,
        refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=tokens["expires_at"],
        scopes=tokens["scope"].split(),
    )
