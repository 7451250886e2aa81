"""Fixtures for the Outlook tests: a fake Microsoft on loopback (https, its own CA) that msal
and our Graph client talk to, and a business connected to it."""

from __future__ import annotations

import pytest

from bookings.tests.factories import BusinessFactory
from integrations.microsoft_calendar import client, identity
from integrations.microsoft_calendar.tests.connected import connect_business
from integrations.microsoft_calendar.tests.fake_microsoft import FakeMicrosoft


@pytest.fixture
def fake_microsoft(settings):
    """A running fake Microsoft, with the MICROSOFT_* settings pointing at it."""
    with FakeMicrosoft() as microsoft:
        for name, value in microsoft.settings().items():
            setattr(settings, name, value)
        identity.forget_apps()
        yield microsoft
    identity.forget_apps()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(client, "BACKOFF_BASE", 0)  # the client's own retries, without pauses


@pytest.fixture
def business(db):
    return BusinessFactory(booking_provider="outlook_calendar")


@pytest.fixture
def connection(business, fake_microsoft):
    """`business` connected to the fake Microsoft account, with a live access token."""
    return connect_business(business, fake_microsoft)
