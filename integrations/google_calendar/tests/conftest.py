"""Fixtures for the Google Calendar tests: a fake Google on loopback that the real google
libraries talk to, and a business connected to it."""

from __future__ import annotations

import pytest

from bookings.tests.factories import BusinessFactory
from integrations.google_calendar.management.commands.rotate_fernet_keys import (
    forget_cached_fernet_keys,
)
from integrations.google_calendar.tests.connected import connect_business
from integrations.google_calendar.tests.fake_google import FakeGoogle


@pytest.fixture
def fake_google(settings, monkeypatch):
    """A running fake Google, with the GOOGLE_* settings pointing at it."""
    # oauthlib refuses plain-http token URLs unless told this is local testing.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with FakeGoogle() as google:
        for name, value in google.settings().items():
            setattr(settings, name, value)
        yield google


@pytest.fixture
def business(db):
    return BusinessFactory(booking_provider="google_calendar")


@pytest.fixture
def connection(business, fake_google):
    """`business` connected to the fake Google's account, with a live access token."""
    return connect_business(business, fake_google)


@pytest.fixture
def use_keys(settings):
    """Switch FERNET_KEYS in this process. The fields cache their keys on first use, so the
    caches are dropped on every switch and again afterwards, for the next test."""

    def switch(*keys: str) -> None:
        settings.FERNET_KEYS = list(keys)
        forget_cached_fernet_keys()

    yield switch
    forget_cached_fernet_keys()
