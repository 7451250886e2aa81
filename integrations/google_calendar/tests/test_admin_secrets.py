"""No token ever reaches a page or a log: every admin page around a connection, error pages,
and every log record written while connecting, choosing calendars and disconnecting."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from integrations.google_calendar import connections
from integrations.google_calendar.models import GoogleCalendarConnection
from integrations.google_calendar.tests.connect_steps import (
    business_page,
    connect,
    consent,
    logged_in,
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


def test_a_crash_mid_connect_shows_no_token_on_the_error_page(
    staff, business, fake_google, settings, monkeypatch
):
    """Tokens are in memory when storing them fails: neither the plain error page (DEBUG off)
    nor Django's technical page (DEBUG on: frame locals) may show them."""

    def storage_broke(*, connection, account_email):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(connections, "save_account_email", storage_broke)
    for debug in (False, True):
        settings.DEBUG = debug
        browser = logged_in(staff)
        browser.raise_request_exception = False
        crashed = browser.get(consent(start_connect(browser, business)))

        assert crashed.status_code == 500
        html = crashed.content.decode()
        if debug:
            assert "the database went away" in html  # it is the technical page
        connection = GoogleCalendarConnection.objects.get(business=business)
        assert_no_secret(html, secrets_of(connection))
        GoogleCalendarConnection.objects.all().delete()


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
    connection.access_token_expires_at = None
    connection.save(update_fields=["access_token_expires_at"])
    from integrations.google_calendar.client import CalendarClient

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
    consent(start_connect(client, business))
    refused = client.get(reverse("google_calendar:callback"), {"state": "forged", "code": "x"})

    assert refused.status_code == 403
    assert "code_verifier" not in refused.content.decode()


def test_an_anonymous_error_page_is_plain(business, fake_google, settings):
    settings.DEBUG = False
    answer = Client().get("/admin/google-calendar/no-such-page/")

    assert answer.status_code == 404
