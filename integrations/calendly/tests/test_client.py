"""The Calendly client's edges against the fake: errors in words staff can read (never a
token), rate limits with Calendly's Retry-After, and no token ever sent over plain http
except to a loopback fake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.calendly import connections
from integrations.calendly.client import CalendlyClient, CalendlyError

pytestmark = pytest.mark.django_db


def test_a_rate_limit_says_how_long_to_wait(connection, haircut_type, fake_calendly):
    fake_calendly.fail("/event_type_available_times", 429, retry_after=42)
    start = timezone.now() + timedelta(days=1)

    with pytest.raises(CalendlyError) as caught:
        CalendlyClient(connection).available_starts(haircut_type, start, start + timedelta(days=1))

    assert caught.value.kind == connections.RATE_LIMITED
    assert caught.value.retry_after == 42
    assert connection.access_token not in str(caught.value)


def test_a_refusal_names_calendlys_reason(connection, haircut_type, fake_calendly):
    start = timezone.now() + timedelta(days=1)

    with pytest.raises(CalendlyError) as caught:
        CalendlyClient(connection).available_starts(
            haircut_type + "-gone", start, start + timedelta(days=1)
        )

    assert caught.value.kind == connections.REFUSED and caught.value.permanent
    assert "event_type: is invalid" in str(caught.value)


def test_no_token_goes_over_plain_http_to_another_host(connection, settings, monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    settings.CALENDLY_API_BASE_URL = "http://calendly.example.com"

    with pytest.raises(CalendlyError) as caught:
        CalendlyClient(connection).current_user()

    assert "must be an https:// address" in str(caught.value)


def test_event_types_are_the_connected_users(connection, fake_calendly):
    fake_calendly.add_event_type("Haircut", 30)
    fake_calendly.add_event_type("Colour", 120)

    listed = CalendlyClient(connection).event_types()

    assert [(e.name, e.duration, e.active) for e in listed] == [
        ("Haircut", 30, True),
        ("Colour", 120, True),
    ]
