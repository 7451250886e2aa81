"""OutlookCalendarProvider through msal and our Graph client against the loopback fake
Microsoft: calendarView's busy times add to the native checks, answers during a call come
from the prefetch, the chosen slot is re-checked live before booking, and every failure
(not connected, down, throttled, revoked) degrades to the native checks with the problem
recorded on the connection. DST is a test case."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core import mail

from bookings import outbox
from bookings.models import Booking
from bookings.providers.base import BookingContext
from bookings.providers.registry import resolve_provider
from bookings.slots import Refusal
from bookings.tests.factories import BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local, upcoming
from integrations.microsoft_calendar.models import OutlookCalendarConnection, OutlookEventSync
from integrations.microsoft_calendar.provider import OutlookCalendarProvider
from integrations.microsoft_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db(transaction=True)

SCHEDULE = "/v1.0/me/calendarView"


@pytest.fixture
def business(db):
    return BusinessFactory(
        booking_provider="outlook_calendar", notification_emails="owner@salon.example"
    )


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=30)


def context(business, service, start) -> BookingContext:
    return BookingContext(
        business=business,
        service=service,
        start=start,
        end=start + service.duration,
        customer_name="Maria",
        customer_phone="+15555550123",
        call_sid="CA" + "2" * 32,
    )


def provider_for(business, **options) -> OutlookCalendarProvider:
    business.provider_options = options
    provider = resolve_provider(business)
    assert isinstance(provider, OutlookCalendarProvider)
    return provider


@sync_to_async
def reload(connection: OutlookCalendarConnection) -> OutlookCalendarConnection:
    connection.refresh_from_db()
    return connection


async def test_an_outlook_event_makes_the_slot_busy_and_alternatives_avoid_it(
    business, haircut, connection, fake_microsoft
):
    tuesday = upcoming(business, 1)
    fake_microsoft.add_event(local(business, tuesday, 14), local(business, tuesday, 15))
    provider = provider_for(business)

    at_two = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 14))
    )
    at_three = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )

    assert not at_two.available and at_two.reason == Refusal.TAKEN
    assert at_two.alternatives
    for start in at_two.alternatives:
        assert not (
            start < local(business, tuesday, 15)
            and start + haircut.duration > local(business, tuesday, 14)
        )
    assert at_three.available


@pytest.mark.parametrize(("show_as", "busy"), [("free", False), ("workingElsewhere", False),
                                               ("tentative", True), ("oof", True)])  # fmt: skip
async def test_what_outlook_shows_the_time_as_decides(
    business, haircut, connection, fake_microsoft, show_as, busy
):
    tuesday = upcoming(business, 1)
    fake_microsoft.add_event(
        local(business, tuesday, 10), local(business, tuesday, 11), show_as=show_as
    )
    result = await provider_for(business).check_availability(
        context(business, haircut, local(business, tuesday, 10))
    )
    assert result.available is not busy


async def test_busy_times_across_a_dst_change_land_on_the_right_local_hour(fake_microsoft, db):
    """New York leaves DST on the first Sunday of November: an event at 10:00 local on the
    Monday after is 15:00 UTC, not 14:00."""
    business = await sync_to_async(BusinessFactory)(
        booking_provider="outlook_calendar", timezone="America/New_York"
    )
    await sync_to_async(connect_business)(business, fake_microsoft)
    year = datetime.now(UTC).year + 1
    first_sunday = next(
        d for d in (datetime(year, 11, day, tzinfo=UTC) for day in range(1, 8)) if d.weekday() == 6
    )
    monday = first_sunday.date() + timedelta(days=1)
    ten = local(business, monday, 10)
    assert ten.astimezone(UTC).hour == 15
    fake_microsoft.add_event(ten, ten + timedelta(hours=1))
    provider = provider_for(business)
    busy = await provider.calendar_busy(ten - timedelta(hours=2), ten + timedelta(hours=2))
    assert busy == [(ten.astimezone(UTC), (ten + timedelta(hours=1)).astimezone(UTC))]


async def test_answers_during_a_call_come_from_the_prefetch(
    business, haircut, connection, fake_microsoft
):
    tuesday = upcoming(business, 1)
    fake_microsoft.add_event(local(business, tuesday, 14), local(business, tuesday, 15))
    provider = provider_for(business)

    await provider.prepare_for_call()
    asked = fake_microsoft.count("GET", SCHEDULE)
    for hour in (9, 10, 14, 15, 16):
        await provider.check_availability(
            context(business, haircut, local(business, tuesday, hour))
        )

    assert asked >= 1  # the horizon, a month per request
    assert fake_microsoft.count("GET", SCHEDULE) == asked


async def test_the_chosen_slot_is_rechecked_with_outlook_before_booking(
    business, haircut, connection, fake_microsoft
):
    tuesday = upcoming(business, 1)
    provider = provider_for(business)
    await provider.prepare_for_call()
    wanted = context(business, haircut, local(business, tuesday, 15))
    assert (await provider.check_availability(wanted)).available

    fake_microsoft.add_event(local(business, tuesday, 15), local(business, tuesday, 16))
    intent = await provider.create_booking(wanted)

    assert not intent.booked and intent.reason == Refusal.TAKEN
    assert not await Booking.objects.aexists()


async def test_a_booking_gets_its_event_once(business, haircut, connection, fake_microsoft):
    tuesday = upcoming(business, 1)
    intent = await provider_for(business).create_booking(
        context(business, haircut, local(business, tuesday, 15))
    )
    sync = await OutlookEventSync.objects.aget(booking_id=intent.booking_id)
    assert sync.status == OutlookEventSync.Status.PENDING

    await sync_to_async(outbox.run_due)()

    sync = await OutlookEventSync.objects.aget(booking_id=intent.booking_id)
    (event,) = fake_microsoft.events()
    assert sync.status == OutlookEventSync.Status.SYNCED and sync.event_id == event["id"]
    assert event["start"] == {"dateTime": f"{tuesday.isoformat()}T15:00:00.0000000",
                              "timeZone": business.timezone}  # fmt: skip
    assert event["subject"] == "Haircut - Maria"


# -- Degradation: the booking never fails, the problem is recorded ---------------------------


async def test_not_connected_falls_back_to_our_own_bookings(business, haircut, fake_microsoft):
    tuesday = upcoming(business, 1)
    fake_microsoft.add_event(local(business, tuesday, 15), local(business, tuesday, 16))
    provider = provider_for(business)

    result = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))

    assert result.available and intent.booked
    assert fake_microsoft.count("GET", SCHEDULE) == 0


@pytest.mark.parametrize(
    ("status", "retry_after", "recorded"),
    [(500, None, "did not answer"), (503, None, "did not answer"), (429, 7, "throttled")],
)
async def test_graph_failures_degrade_and_are_recorded(
    business, haircut, connection, fake_microsoft, status, retry_after, recorded
):
    tuesday = upcoming(business, 1)
    fake_microsoft.add_event(local(business, tuesday, 15), local(business, tuesday, 16))
    fake_microsoft.fail(SCHEDULE, status, times=100, retry_after=retry_after)
    provider = provider_for(business)

    result = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))

    assert result.available and intent.booked  # per our own bookings
    connection = await reload(connection)
    assert recorded in connection.last_error and connection.last_error_at is not None
    assert connection.status == OutlookCalendarConnection.Status.CONNECTED


async def test_a_throttled_graph_is_not_waited_on_during_a_call(
    business, haircut, connection, fake_microsoft
):
    """429 with a long Retry-After: the caller gets an answer now, not in a minute."""
    tuesday = upcoming(business, 1)
    fake_microsoft.fail(SCHEDULE, 429, times=100, retry_after=60)
    started = time.monotonic()
    result = await provider_for(business).check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    assert result.available and time.monotonic() - started < 5
    assert fake_microsoft.count("GET", SCHEDULE) == 1


async def test_a_short_retry_after_is_not_waited_on_during_a_call_either(
    business, haircut, connection, fake_microsoft
):
    """429 with Retry-After 3: still no waiting in a call, and it is recorded as throttled,
    not as Graph being down."""
    tuesday = upcoming(business, 1)
    fake_microsoft.fail(SCHEDULE, 429, times=100, retry_after=3)
    started = time.monotonic()
    result = await provider_for(business).check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    assert result.available and time.monotonic() - started < 2
    assert fake_microsoft.count("GET", SCHEDULE) == 1
    connection = await reload(connection)
    assert "throttled" in connection.last_error


async def test_a_slow_graph_is_cut_short(business, haircut, connection, fake_microsoft, settings):
    settings.MICROSOFT_IN_CALL_TIMEOUT = 0.5
    tuesday = upcoming(business, 1)
    fake_microsoft.hang(SCHEDULE, times=100)
    started = time.monotonic()
    result = await provider_for(business).check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    assert result.available and time.monotonic() - started < 1.5


async def test_a_revoked_grant_needs_reconnect_and_tells_the_staff_once(
    business, haircut, connection, fake_microsoft
):
    tuesday = upcoming(business, 1)
    fake_microsoft.expire_access_tokens()
    fake_microsoft.invalidate_refresh_tokens()

    for hour in (14, 15):
        provider = provider_for(business)  # one call each
        intent = await provider.create_booking(
            context(business, haircut, local(business, tuesday, hour))
        )
        assert intent.booked
    await sync_to_async(outbox.run_due)()

    connection = await reload(connection)
    assert connection.status == OutlookCalendarConnection.Status.NEEDS_RECONNECT
    assert "invalid_grant" in connection.last_error and "AADSTS50173" in connection.last_error
    assert connection.access_token is None
    reconnect = [m for m in mail.outbox if "needs reconnecting" in m.subject]
    assert [m.subject for m in reconnect] == [
        f"{business.name}: Outlook Calendar needs reconnecting"
    ]
