"""The Google Calendar client, through google-api-python-client and google-auth, against the
loopback fake Google: busy times, events, the token cache and refresh, the retry budget and
the errors callers see."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection

from bookings.models import Service
from bookings.tests.factories import BookingFactory, ServiceFactory
from integrations.google_calendar import client as client_module
from integrations.google_calendar import connections
from integrations.google_calendar.client import (
    CalendarClient,
    CalendarInfo,
    GoogleCalendarError,
    event_id_for,
)
from integrations.google_calendar.models import GoogleCalendarConnection
from integrations.google_calendar.tests.connected import connect_business

FREEBUSY = "/calendar/v3/freeBusy"
EVENTS = "/calendar/v3/calendars/"
MONDAY = datetime(2031, 3, 3, tzinfo=UTC)  # far from today: the fake does not care


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(client_module, "BACKOFF_BASE", 0.0)


@pytest.fixture
def expired(business, fake_google):
    """A connection whose cached access token has expired."""
    return connect_business(business, fake_google, expires_in=-60)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def booking_for(business, *, hour: int = 14):
    haircut = Service.objects.filter(business=business, name="Haircut").first()
    haircut = haircut or ServiceFactory(business=business, name="Haircut", duration_minutes=45)
    start = datetime(2031, 7, 1, hour, tzinfo=business.tz)  # summer: New York is UTC-4
    return BookingFactory(service=haircut, start=start, customer_name="Maria Lopez")


def stored(connection) -> GoogleCalendarConnection:
    return GoogleCalendarConnection.objects.get(pk=connection.pk)


# -- Busy times ------------------------------------------------------------------------------


def test_busy_times_are_the_union_of_calendars_and_a_failing_calendar_is_unknown(
    connection, fake_google
):
    fake_google.add_calendar("team@group.calendar.google.com", "Team")
    fake_google.add_calendar(
        "broken@group.calendar.google.com", "Broken", failing_reason="backendError"
    )
    fake_google.add_event("primary", at(0, 9), at(0, 10))
    fake_google.add_event("team@group.calendar.google.com", at(0, 9, 30), at(0, 11))
    fake_google.add_event("team@group.calendar.google.com", at(0, 15), at(0, 16))
    fake_google.add_event("broken@group.calendar.google.com", at(0, 12), at(0, 13))

    result = CalendarClient(connection).free_busy(
        [
            "primary",
            "team@group.calendar.google.com",
            "broken@group.calendar.google.com",
            "gone@group.calendar.google.com",
        ],
        at(0, 0),
        at(1, 0),
    )

    assert result.busy == [(at(0, 9), at(0, 11)), (at(0, 15), at(0, 16))]
    assert result.unknown == {
        "broken@group.calendar.google.com": "backendError",
        "gone@group.calendar.google.com": "notFound",
    }
    assert all(start.tzinfo == UTC for start, _ in result.busy)


def test_ranges_over_90_days_are_asked_in_chunks(connection, fake_google):
    fake_google.add_event("primary", at(10, 9), at(10, 10))
    fake_google.add_event("primary", at(89, 22), at(90, 2))  # across the first chunk's end
    fake_google.add_event("primary", at(150, 9), at(150, 10))

    result = CalendarClient(connection).free_busy(["primary"], at(0, 0), at(200, 0))

    assert result.busy == [
        (at(10, 9), at(10, 10)),
        (at(89, 22), at(90, 2)),
        (at(150, 9), at(150, 10)),
    ]
    assert result.unknown == {}
    assert fake_google.count("POST", FREEBUSY) == 3  # 90 + 90 + 20 days


def test_events_marked_free_are_not_busy(connection, fake_google):
    fake_google.add_event("primary", at(0, 9), at(0, 10), summary="Gym", transparent=True)
    fake_google.add_event("primary", at(0, 11), at(0, 12), summary="Dentist")

    result = CalendarClient(connection).free_busy(["primary"], at(0, 0), at(1, 0))

    assert result.busy == [(at(0, 11), at(0, 12))]


def test_busy_times_are_clipped_to_the_asked_range(connection, fake_google):
    fake_google.add_event("primary", at(0, 8), at(0, 12))

    result = CalendarClient(connection).free_busy(["primary"], at(0, 10), at(0, 18))

    assert result.busy == [(at(0, 10), at(0, 12))]


# -- Events ----------------------------------------------------------------------------------


def test_an_event_is_created_with_our_id_in_the_business_time_zone(connection, fake_google):
    booking = booking_for(connection.business, hour=14)

    event_id = CalendarClient(connection).insert_event(booking)

    assert event_id == event_id_for(booking)
    (event,) = fake_google.events("primary")
    assert event["id"] == event_id
    assert event["start"] == {
        "dateTime": "2031-07-01T14:00:00-04:00",
        "timeZone": "America/New_York",
    }
    assert event["end"] == {"dateTime": "2031-07-01T14:45:00-04:00", "timeZone": "America/New_York"}
    assert event["summary"] == "Haircut - Maria Lopez"
    assert "Haircut" in event["description"]
    assert "Maria Lopez" in event["description"]
    assert booking.customer_phone in event["description"]
    assert event["extendedProperties"]["private"] == {"receptionist_booking": str(booking.pk)}


def test_an_event_goes_to_the_chosen_write_calendar(connection, fake_google):
    fake_google.add_calendar("shop@group.calendar.google.com", "Shop")
    connection.write_calendar_id = "shop@group.calendar.google.com"
    connection.save(update_fields=["write_calendar_id"])

    event_id = CalendarClient(connection).insert_event(booking_for(connection.business))

    assert [e["id"] for e in fake_google.events("shop@group.calendar.google.com")] == [event_id]
    assert fake_google.events("primary") == []


def test_inserting_the_same_booking_again_does_not_duplicate_it(connection, fake_google):
    booking = booking_for(connection.business)
    client = CalendarClient(connection)

    first = client.insert_event(booking)
    second = client.insert_event(booking)

    assert first == second == event_id_for(booking)
    assert len(fake_google.events("primary")) == 1
    assert fake_google.count("POST", EVENTS) == 2  # the second got Google's 409


def test_event_ids_are_base32hex_stable_per_booking_and_distinct(connection):
    one = booking_for(connection.business, hour=10)
    other = booking_for(connection.business, hour=11)

    assert event_id_for(one) == event_id_for(one)
    assert event_id_for(one) != event_id_for(other)
    assert set(event_id_for(one)) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(event_id_for(one)) <= 1024


def test_deleting_an_event_twice_is_fine(connection, fake_google):
    client = CalendarClient(connection)
    event_id = client.insert_event(booking_for(connection.business))

    client.delete_event("primary", event_id)
    client.delete_event("primary", event_id)  # Google: 410 deleted
    client.delete_event("primary", "neverexisted0")  # Google: 404

    assert fake_google.events("primary") == []
    assert fake_google.count("DELETE", EVENTS) == 3


def test_calendars_are_listed_with_the_primary_flagged(connection, fake_google):
    fake_google.add_calendar("team@group.calendar.google.com", "Team", access_role="reader")

    client = CalendarClient(connection)

    assert client.list_calendars() == [
        CalendarInfo(
            id="owner@example.com", summary="owner@example.com", primary=True, access_role="owner"
        ),
        CalendarInfo(
            id="team@group.calendar.google.com", summary="Team", primary=False, access_role="reader"
        ),
    ]
    assert client.primary_calendar_id() == fake_google.account_email


# -- Tokens ----------------------------------------------------------------------------------


def test_a_valid_cached_token_is_used_without_any_refresh(connection, fake_google):
    client = CalendarClient(connection)

    client.free_busy(["primary"], at(0, 0), at(1, 0))
    client.insert_event(booking_for(connection.business))
    CalendarClient(stored(connection)).free_busy(["primary"], at(0, 0), at(1, 0))

    assert fake_google.count("POST", "/token") == 0
    assert fake_google.count("POST", FREEBUSY) == 2


def test_an_expired_token_is_refreshed_once_and_saved_encrypted(expired, fake_google):
    old_token = expired.access_token
    client = CalendarClient(expired)

    client.free_busy(["primary"], at(0, 0), at(1, 0))
    client.free_busy(["primary"], at(0, 0), at(1, 0))
    CalendarClient(stored(expired)).free_busy(["primary"], at(0, 0), at(1, 0))

    assert fake_google.count("POST", "/token") == 1
    assert fake_google.token_grants == ["refresh_token"]
    row = stored(expired)
    assert row.access_token and row.access_token != old_token
    assert row.access_token_expires_at > datetime.now(UTC) + timedelta(minutes=50)
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token FROM google_calendar_googlecalendarconnection WHERE id = %s",
            [expired.pk],
        )
        (raw,) = cursor.fetchone()
    assert row.access_token not in str(raw)  # Fernet ciphertext at rest, not the token


def test_a_token_google_rejects_is_refreshed_and_the_call_retried(connection, fake_google):
    # The row still thinks the token is good for an hour; Google says 401.
    rejected = connection.access_token
    fake_google.expire_access_tokens()

    result = CalendarClient(connection).free_busy(["primary"], at(0, 0), at(1, 0))

    assert result.unknown == {}
    assert fake_google.count("POST", "/token") == 1
    assert fake_google.count("POST", FREEBUSY) == 2
    assert stored(connection).access_token not in (None, rejected)


def test_a_token_refused_even_after_a_refresh_is_recorded_but_not_a_dead_connection(
    connection, fake_google
):
    fake_google.fail(FREEBUSY, 401, times=100)

    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(connection).free_busy(["primary"], at(0, 0), at(1, 0))

    assert raised.value.kind == connections.TOKEN_REVOKED
    assert raised.value.permanent is False
    assert fake_google.count("POST", "/token") == 1  # one refresh, then give up
    assert fake_google.count("POST", FREEBUSY) == 2
    row = stored(connection)
    assert row.status == GoogleCalendarConnection.Status.CONNECTED
    assert "401" in row.last_error


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shared", [True, False], ids=["one client", "a client per thread"])
def test_concurrent_refreshes_collapse_into_one(expired, fake_google, shared):
    fake_google.token_latency = 0.1  # keep the refresh in flight while the others arrive
    shared_client = CalendarClient(expired)
    start_together = threading.Barrier(10)
    answers, errors = [], []

    def check() -> None:
        try:
            client = shared_client if shared else CalendarClient(stored(expired))
            start_together.wait()
            answers.append(client.free_busy(["primary"], at(0, 0), at(1, 0)))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=check) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert len(answers) == 10
    assert fake_google.count("POST", "/token") == 1
    assert fake_google.count("POST", FREEBUSY) == 10


def test_a_dead_refresh_token_marks_the_connection_for_reconnecting(expired, fake_google):
    fake_google.invalidate_refresh_tokens()

    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(expired).free_busy(["primary"], at(0, 0), at(1, 0))

    assert raised.value.kind == connections.TOKEN_REVOKED
    assert raised.value.permanent is True
    row = stored(expired)
    assert row.status == GoogleCalendarConnection.Status.NEEDS_RECONNECT
    assert "invalid_grant" in row.last_error
    assert row.last_error_at is not None
    assert row.access_token is None
    assert fake_google.count("POST", FREEBUSY) == 0


def test_a_connection_that_is_not_usable_fails_without_asking_google(expired, fake_google):
    connections.wipe_tokens(connection=expired)

    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(stored(expired)).free_busy(["primary"], at(0, 0), at(1, 0))

    assert raised.value.kind == connections.NOT_CONNECTED
    assert raised.value.permanent is True
    assert fake_google.requests == []


# -- Retries and errors ------------------------------------------------------------------------


def test_a_server_error_then_success_within_the_retry_budget_succeeds(connection, fake_google):
    fake_google.add_event("primary", at(0, 9), at(0, 10))
    fake_google.fail(FREEBUSY, 500, times=2)

    result = CalendarClient(connection, num_retries=3).free_busy(["primary"], at(0, 0), at(1, 0))

    assert result.busy == [(at(0, 9), at(0, 10))]
    assert fake_google.count("POST", FREEBUSY) == 3


def test_persistent_server_errors_give_up_after_the_budget_as_retryable(connection, fake_google):
    fake_google.fail(FREEBUSY, 503, times=100)

    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(connection, num_retries=2).free_busy(["primary"], at(0, 0), at(1, 0))

    assert raised.value.kind == connections.API_DOWN
    assert raised.value.permanent is False
    assert raised.value.status == 503
    assert fake_google.count("POST", FREEBUSY) == 3


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, None), (403, "rateLimitExceeded"), (403, "userRateLimitExceeded")],
)
def test_rate_limits_are_retried_then_reported_as_retryable(
    connection, fake_google, status, reason
):
    fake_google.fail(FREEBUSY, status, reason=reason, times=100)

    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(connection, num_retries=2).free_busy(["primary"], at(0, 0), at(1, 0))

    assert raised.value.kind == connections.RATE_LIMITED
    assert raised.value.permanent is False
    assert raised.value.retry_after and raised.value.retry_after > 0
    assert fake_google.count("POST", FREEBUSY) == 3


def test_a_long_retry_after_is_handed_to_the_caller_instead_of_waited_for(connection, fake_google):
    fake_google.fail(FREEBUSY, 429, times=100, retry_after=120)

    started = time.monotonic()
    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(connection, num_retries=3).free_busy(["primary"], at(0, 0), at(1, 0))

    assert raised.value.kind == connections.RATE_LIMITED
    assert raised.value.retry_after == 120
    assert fake_google.count("POST", FREEBUSY) == 1
    assert time.monotonic() - started < 2


def test_a_short_retry_after_is_honoured_and_the_call_succeeds(connection, fake_google):
    fake_google.fail(FREEBUSY, 429, times=1, retry_after=0)

    result = CalendarClient(connection).free_busy(["primary"], at(0, 0), at(1, 0))

    assert result.unknown == {}
    assert fake_google.count("POST", FREEBUSY) == 2


@pytest.mark.parametrize("reason", ["forbidden", "quotaExceeded"])
def test_forbidden_is_permanent_and_not_retried(connection, fake_google, reason):
    fake_google.fail(EVENTS, 403, reason=reason, times=100)

    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(connection).insert_event(booking_for(connection.business))

    assert raised.value.kind == connections.CALENDAR_ERROR
    assert raised.value.permanent is True
    assert raised.value.status == 403
    assert reason in str(raised.value)
    assert fake_google.count("POST", EVENTS) == 1


def test_a_hung_google_times_out_as_api_down_within_the_timeout(connection, fake_google, settings):
    settings.GOOGLE_HTTP_TIMEOUT = 0.3
    fake_google.hang(FREEBUSY)
    client = CalendarClient(connection)

    started = time.monotonic()
    with pytest.raises(GoogleCalendarError) as raised:
        client.free_busy(["primary"], at(0, 0), at(1, 0))
    elapsed = time.monotonic() - started

    assert raised.value.kind == connections.API_DOWN
    assert raised.value.permanent is False
    assert 0.25 < elapsed < 1.5
    # Google is back: the same client answers on a fresh connection.
    assert client.free_busy(["primary"], at(0, 0), at(1, 0)).unknown == {}


# -- Async wrappers ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_async_wrappers_run_off_the_event_loop(connection, fake_google):
    fake_google.add_event("primary", at(0, 9), at(0, 10))
    fake_google.latency = 0.2
    client = CalendarClient(connection)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    result = await client.afree_busy(["primary"], at(0, 0), at(1, 0))
    ticker.cancel()

    assert result.busy == [(at(0, 9), at(0, 10))]
    assert ticks >= 5  # the loop kept running while Google took its time


@pytest.mark.django_db(transaction=True)
async def test_async_wrappers_give_up_at_their_deadline(connection, fake_google):
    fake_google.hang(FREEBUSY)
    client = CalendarClient(connection, timeout=5)

    started = time.monotonic()
    with pytest.raises(GoogleCalendarError) as raised:
        await client.afree_busy(["primary"], at(0, 0), at(1, 0), deadline=0.3)

    assert raised.value.kind == connections.API_DOWN
    assert time.monotonic() - started < 1.5
    fake_google.stop()  # release the worker thread still waiting on the hung answer


# -- Secrets -----------------------------------------------------------------------------------


def test_tokens_never_appear_in_logs_or_errors(expired, fake_google, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = {expired.access_token, expired.refresh_token}
    client = CalendarClient(expired)
    failures: list[GoogleCalendarError] = []

    client.free_busy(["primary"], at(0, 0), at(1, 0))  # refresh
    client.insert_event(booking_for(expired.business, hour=10))
    fake_google.fail(FREEBUSY, 500, times=100)
    fake_google.fail(EVENTS, 403, reason="forbidden")
    for call in (
        lambda: client.free_busy(["primary"], at(0, 0), at(1, 0)),
        lambda: client.insert_event(booking_for(expired.business, hour=16)),
    ):
        with pytest.raises(GoogleCalendarError) as raised:
            call()
        failures.append(raised.value)
    secrets.add(stored(expired).access_token)
    fake_google.clear_faults()
    fake_google.expire_access_tokens()
    fake_google.invalidate_refresh_tokens()
    with pytest.raises(GoogleCalendarError) as raised:
        CalendarClient(stored(expired)).free_busy(["primary"], at(0, 0), at(1, 0))
    failures.append(raised.value)

    assert len(secrets) == 3 and None not in secrets
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Refreshed the Google access token" in logged  # the logs were captured
    reported = "\n".join(f"{exc} {exc!r}" for exc in failures)
    reported += stored(expired).last_error
    for secret in secrets:
        assert secret not in logged
        assert secret not in reported
