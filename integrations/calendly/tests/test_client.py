"""The Calendly client's edges against the fake: errors in words staff can read (never a
token), rate limits with Calendly's Retry-After, and no token ever sent over plain http
except to a loopback fake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import OutboxTask
from integrations.calendly import client as client_module
from integrations.calendly import connections
from integrations.calendly.client import CalendlyClient, CalendlyError
from integrations.calendly.models import CalendlyConnection

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


def test_losing_a_refresh_race_to_another_process_keeps_the_winners_tokens(
    business, connection, haircut_type, fake_calendly, monkeypatch
):
    """Refresh tokens are single-use: when another process (a second Daphne, an outbox
    worker) spent ours first, its rotated tokens are used, not a false "needs reconnect"."""
    business.notification_emails = "owner@salon.example"
    business.save(update_fields=["notification_emails"])
    fake_calendly.expire_access_tokens()
    connection.access_token_expires_at = timezone.now() - timedelta(minutes=5)
    connection.save(update_fields=["access_token_expires_at"])
    real_request_tokens = client_module.request_tokens

    def other_process_wins(form, *, timeout):
        # The other process refreshed with the same refresh token just before us.
        other = CalendlyConnection.objects.get(pk=connection.pk)
        won = real_request_tokens(dict(form), timeout=timeout)
        connections.store.save_access_token(
            connection=other,
            access_token=won.access_token,
            expires_at=won.expires_at,
            refresh_token=won.refresh_token,
        )
        monkeypatch.setattr(client_module, "request_tokens", real_request_tokens)
        return real_request_tokens(form, timeout=timeout)  # ours: invalid_grant

    monkeypatch.setattr(client_module, "request_tokens", other_process_wins)
    start = timezone.now() + timedelta(days=1)

    starts = CalendlyClient(connection).available_starts(
        haircut_type, start, start + timedelta(days=1)
    )

    assert starts
    connection.refresh_from_db()
    assert connection.status == CalendlyConnection.Status.CONNECTED
    assert connection.access_token and connection.refresh_token
    assert not OutboxTask.objects.filter(kind="staff.email").exists()
