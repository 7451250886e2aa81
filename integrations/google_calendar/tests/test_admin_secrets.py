"""No token ever reaches a page or a log: every admin page around a connection, error pages,
and every log record written while connecting, choosing calendars and disconnecting."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.signals import got_request_exception
from django.urls import reverse
from django.utils import timezone
from django.views.debug import ExceptionReporter

from integrations.google_calendar import connections, oauth
from integrations.google_calendar.client import CalendarClient
from integrations.google_calendar.models import GoogleCalendarConnection
from integrations.google_calendar.tests.connect_steps import (
    business_page,
    connect,
    consent,
    logged_in,
    query_of,
    staff_member,
    start_connect,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return staff_member()


@pytest.fixture
def client(staff):
    return logged_in(staff)


@pytest.fixture
def superuser_client(db):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password="a-long-test-password-1")
    return logged_in(admin)


@pytest.fixture
def connected(client, business, fake_google) -> GoogleCalendarConnection:
    connect(client, business)
    return GoogleCalendarConnection.objects.get(business=business)


def secrets_of(connection: GoogleCalendarConnection) -> list[str]:
    tokens = [connection.refresh_token, connection.access_token]
    assert all(tokens), "the connection should hold both tokens"
    return tokens


def assert_no_secret(html: str, tokens: list[str]) -> None:
    for token in tokens:
        assert token not in html
        # Not even a recognisable piece of one (a "masked" token shows its ends).
        assert token[-8:] not in html and token[8:24] not in html


def test_admin_pages_never_show_a_token(client, superuser_client, business, connected):
    tokens = secrets_of(connected)
    change = reverse("admin:google_calendar_googlecalendarconnection_change", args=[connected.pk])
    pages = {
        "business page": business_page(business),
        "business list": reverse("admin:bookings_business_changelist"),
        "connection list": reverse("admin:google_calendar_googlecalendarconnection_changelist"),
        "connection page": change,
        "connection history": change.replace("/change/", "/history/"),
        "calendar picker": reverse("google_calendar:calendars", args=[business.pk]),
        "disconnect confirmation": reverse("google_calendar:disconnect", args=[business.pk]),
    }
    for who, browser in [("staff", client), ("superuser", superuser_client)]:
        for name, url in pages.items():
            answer = browser.get(url)
            assert answer.status_code == 200, (who, name, answer.status_code)
            assert_no_secret(answer.content.decode(), tokens)

    # The pages show what staff need instead.
    connection_page = superuser_client.get(change).content.decode()
    assert "owner@example.com" in connection_page
    assert "calendar.freebusy" in connection_page  # granted scopes
    assert "Connected as owner@example.com" in connection_page


def test_the_connection_page_has_no_token_field_and_cannot_post_one(superuser_client, connected):
    change = reverse("admin:google_calendar_googlecalendarconnection_change", args=[connected.pk])
    page = superuser_client.get(change)

    html = page.content.decode()
    assert 'name="refresh_token"' not in html and 'name="access_token"' not in html
    assert "refresh token" not in html.lower() and "access token:" not in html.lower()
    # Read-only: posting a token changes nothing.
    superuser_client.post(change, {"refresh_token": "attacker", "access_token": "attacker"})
    connected.refresh_from_db()
    assert connected.refresh_token != "attacker" and connected.access_token != "attacker"


def test_a_connection_with_a_problem_shows_the_problem_not_the_token(
    client, superuser_client, business, connected
):
    tokens = secrets_of(connected)
    connections.record_problem(
        connection=connected, kind=connections.API_DOWN, detail="freeBusy answered HTTP 503"
    )

    page = client.get(business_page(business)).content.decode()

    assert "Last problem" in page and "freeBusy answered HTTP 503" in page
    assert_no_secret(page, tokens)
    listing = superuser_client.get(
        reverse("admin:google_calendar_googlecalendarconnection_changelist")
    ).content.decode()
    assert_no_secret(listing, tokens)


def test_a_crash_mid_connect_leaves_no_token_on_the_error_page_or_in_the_error_report(
    client, business, fake_google, settings, monkeypatch
):
    """Encrypting the new tokens fails, deep inside the ORM, with the plain tokens in the
    frames' locals. With DEBUG off the visitor gets the plain error page, and the error report
    (what mail_admins sends, frame locals included) has every local under the connect views
    blanked out."""
    settings.DEBUG = False
    client.raise_request_exception = False
    encrypted: list[str] = []

    def encryption_broke(self, data: bytes) -> bytes:
        encrypted.append(data.decode())
        raise RuntimeError("the key store went away")

    monkeypatch.setattr(Fernet, "encrypt", encryption_broke)
    crashes: list = []

    def keep(sender, request, **kwargs):
        crashes.append((request, sys.exc_info()))

    got_request_exception.connect(keep)
    try:
        crashed = client.get(consent(start_connect(client, business)))
    finally:
        got_request_exception.disconnect(keep)

    assert crashed.status_code == 500
    refresh_token = encrypted[0]
    assert refresh_token.startswith("1//")
    assert_no_secret(crashed.content.decode(), [refresh_token])
    ((request, exc_info),) = crashes
    report = ExceptionReporter(request, *exc_info, is_email=True).get_traceback_html()
    assert "the key store went away" in report and "get_db_prep_save" in report
    assert_no_secret(report, [refresh_token])


def test_no_log_record_holds_a_token(client, business, fake_google, caplog):
    caplog.set_level(logging.DEBUG)  # everything, including the OAuth libraries' debug logs
    tokens: list[str] = []

    connect(client, business)
    connection = GoogleCalendarConnection.objects.get(business=business)
    tokens += secrets_of(connection)
    client.get(reverse("google_calendar:calendars", args=[business.pk]))
    client.post(
        reverse("google_calendar:calendars", args=[business.pk]),
        {"busy_calendar_ids": ["owner@example.com"], "write_calendar_id": "owner@example.com"},
    )
    # A refresh, as the provider would trigger: a new access token goes through the logs too.
    fake_google.expire_access_tokens()
    connection.access_token_expires_at = timezone.now() - timedelta(hours=1)
    connection.save(update_fields=["access_token_expires_at"])
    CalendarClient(connection).list_calendars()
    connection.refresh_from_db()
    tokens.append(connection.access_token)
    client.post(reverse("google_calendar:disconnect", args=[business.pk]))

    assert fake_google.token_grants == ["authorization_code", "refresh_token"]
    assert len(caplog.records) > 0
    for record in caplog.records:
        text = record.getMessage() + " " + str(record.__dict__)
        for token in tokens:
            assert token not in text, f"{record.name}: {record.getMessage()[:200]}"


def test_the_403_page_for_a_bad_state_holds_nothing_secret(client, business, fake_google):
    callback = consent(start_connect(client, business))
    (pending,) = client.session[oauth.PENDING_SESSION_KEY].values()
    code = query_of(callback)["code"]

    refused = client.get(reverse("google_calendar:callback"), {"state": "forged", "code": code})

    assert refused.status_code == 403
    html = refused.content.decode()
    assert pending["code_verifier"] not in html and code not in html
