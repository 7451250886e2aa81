"""Both fakes at once, for the tests of several calendars checked together."""

from __future__ import annotations

import pytest

from integrations.google_calendar import client as google_client
from integrations.google_calendar.tests.fake_google import FakeGoogle
from integrations.microsoft_calendar import client as graph_client
from integrations.microsoft_calendar import identity
from integrations.microsoft_calendar.tests.fake_microsoft import FakeMicrosoft


@pytest.fixture
def fake_google(settings, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setattr(google_client, "BACKOFF_BASE", 0)
    with FakeGoogle() as google:
        for name, value in google.settings().items():
            setattr(settings, name, value)
        yield google


@pytest.fixture
def fake_microsoft(settings, monkeypatch):
    monkeypatch.setattr(graph_client, "BACKOFF_BASE", 0)
    with FakeMicrosoft() as microsoft:
        for name, value in microsoft.settings().items():
            setattr(settings, name, value)
        identity.forget_apps()
        yield microsoft
    identity.forget_apps()


# The Calendly fake, for the tests that check every integration.
from integrations.calendly.tests.conftest import fake_calendly  # noqa: E402, F401
