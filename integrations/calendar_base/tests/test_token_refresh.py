"""Token refreshes (calendar_base.token_refresh) hold no lock and no transaction across the
call to the token endpoint: two processes that find the same connection's access token
expired may both ask, and each still gets a valid token, the stored tokens stay live at
the vendor and no dead grant is recorded (for every integration: Google keeps its refresh
token, Microsoft rotates it and keeps the old one working, Calendly's are single-use).
Runs on SQLite and on Postgres."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from integrations.calendar_base import errors
from integrations.calendar_base.tests.refresh_elsewhere import call_with_expired_token
from integrations.calendar_base.token_refresh import GrantIsDead, NewTokens, fresh_access_token
from integrations.calendly.tests.connected import connect_business as connect_calendly
from integrations.google_calendar import connections as google_connections
from integrations.google_calendar.client import CalendarClient, GoogleCalendarError
from integrations.google_calendar.models import GoogleCalendarConnection
from integrations.google_calendar.tests.connected import connect_business as connect_google
from integrations.microsoft_calendar.tests.connected import connect_business as connect_outlook

INTEGRATIONS = {
    # name: (fake fixture, connect, the fake's token path)
    "google": ("fake_google", connect_google, "/token"),
    "microsoft": ("fake_microsoft", connect_outlook, "/common/oauth2/v2.0/token"),
    "calendly": ("fake_calendly", connect_calendly, "/oauth/token"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("integration", list(INTEGRATIONS))
def test_two_processes_with_an_expired_token_both_get_one_and_the_grant_stays_live(
    request, integration
):
    fake_fixture, connect, token_path = INTEGRATIONS[integration]
    fake = request.getfixturevalue(fake_fixture)
    connection = connect(BusinessFactory(), fake, expires_in=-60)
    fake.token_latency = 1.0  # the first refresh is still in flight when the second wants one
    spawn = multiprocessing.get_context("spawn")
    start_together, results = spawn.Barrier(2), spawn.Queue()
    database = db_connection.settings_dict["NAME"]
    processes = [
        spawn.Process(
            target=call_with_expired_token,
            args=(integration, connection.pk, database, fake.settings(), start_together, results),
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(90)

    # Each process got a token the API took, whether it asked or used the other's.
    assert sorted(results.get(timeout=5) for _ in processes) == ["ok", "ok"]
    assert 1 <= fake.count("POST", token_path) <= 2
    connection.refresh_from_db()
    # Not taken for a dead grant (a single-use refresh token spent by the other process is
    # refused to the second one asking)...
    assert connection.status == "connected" and connection.last_error == ""
    # ...and what is stored is live at the vendor: the access token and the refresh token.
    assert fake._bearer(f"Bearer {connection.access_token}") is not None
    assert fake._grant_to_refresh(connection.refresh_token) is not None


@pytest.mark.django_db(transaction=True)
def test_a_booking_is_written_while_the_token_endpoint_is_slow(fake_google):
    """On SQLite a transaction holds the write lock of the whole database: none may be open
    while the token endpoint takes its time."""
    service = ServiceFactory()
    connection = connect_google(service.business, fake_google, expires_in=-60)
    fake_google.token_latency = 3.0
    start = timezone.now() + timedelta(days=1)
    failed: list[Exception] = []

    def check_calendar() -> None:
        try:
            row = GoogleCalendarConnection.objects.get(pk=connection.pk)
            CalendarClient(row).free_busy(["primary"], start, start + timedelta(hours=1))
        except Exception as exc:  # asserted below
            failed.append(exc)
        finally:
            db_connection.close()

    refresh = threading.Thread(target=check_calendar)
    refresh.start()
    give_up = time.monotonic() + 10
    while not fake_google.count("POST", "/token") and time.monotonic() < give_up:
        time.sleep(0.01)
    assert fake_google.count("POST", "/token") == 1  # asked, and the fake is sleeping on it

    BookingFactory(service=service, start=start)

    # The write went through before the token endpoint had even answered.
    assert fake_google.token_grants == []
    refresh.join(30)
    assert failed == [] and fake_google.token_grants == ["refresh_token"]


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_spent_by_a_racing_refresh_whose_save_lands_late_is_not_a_dead_grant(
    fake_google,
):
    """Single-use refresh tokens (Calendly): the other process's refresh spent ours at the
    vendor, so ours is refused, but its save reaches the row only a moment later."""
    connection = connect_google(BusinessFactory(), fake_google, expires_in=-60)
    row = GoogleCalendarConnection.objects.get(pk=connection.pk)
    later = timezone.now() + timedelta(hours=1)

    def racing_save() -> None:
        try:
            google_connections.store.save_access_token(
                connection=GoogleCalendarConnection.objects.get(pk=connection.pk),
                access_token="the-winner's-token",
                expires_at=later,
                refresh_token="the-winner's-refresh-token",
            )
        finally:
            db_connection.close()

    def refused(sent: str) -> NewTokens:
        threading.Timer(0.5, racing_save).start()
        error = GoogleCalendarError("refused", kind=errors.TOKEN_REVOKED, permanent=True)
        raise GrantIsDead("token refresh refused (invalid_grant)", error)

    token = fresh_access_token(
        row,
        store=google_connections.store,
        service="Google",
        stale=row.access_token,
        valid=lambda token, expires_at: bool(token) and expires_at > timezone.now(),
        ask=refused,
        not_connected=lambda: AssertionError("usable"),
    )

    assert token == "the-winner's-token"
    connection.refresh_from_db()
    assert connection.status == "connected" and connection.last_error == ""
    assert connection.refresh_token == "the-winner's-refresh-token"
