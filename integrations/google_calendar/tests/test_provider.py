"""GoogleCalendarProvider through the real Google client against the loopback fake Google:
busy times add to the native checks, answers during a call come from the prefetch, the
chosen slot is re-checked live before booking, and every Google failure degrades to the
native checks with the problem recorded on the connection."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from bookings import outbox
from bookings.models import Booking
from bookings.providers.base import BookingContext
from bookings.providers.registry import resolve_provider
from bookings.slots import Refusal
from bookings.tests.factories import BusinessFactory, ServiceFactory
from bookings.tests.page_forms import form_values
from bookings.tests.timeutil import local, upcoming
from integrations.google_calendar import client, event_sync
from integrations.google_calendar.management.commands.rotate_fernet_keys import (
    forget_cached_fernet_keys,
)
from integrations.google_calendar.models import CalendarEventSync, GoogleCalendarConnection
from integrations.google_calendar.provider import GoogleCalendarProvider
from integrations.google_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(client, "BACKOFF_BASE", 0)  # the client's own retries, without pauses


@pytest.fixture
def business(db):
    return BusinessFactory(booking_provider="google_calendar")


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=30)


@pytest.fixture
def connection(business, fake_google):
    return connect_business(business, fake_google)


def context(business, service, start) -> BookingContext:
    return BookingContext(
        business=business,
        service=service,
        start=start,
        end=start + service.duration,
        customer_name="Maria",
        customer_phone="+15555550123",
        call_sid="CA" + "1" * 32,
    )


def provider_for(business, **options) -> GoogleCalendarProvider:
    business.provider_options = options
    provider = resolve_provider(business)
    assert isinstance(provider, GoogleCalendarProvider)
    return provider


@sync_to_async
def reload(connection: GoogleCalendarConnection) -> GoogleCalendarConnection:
    connection.refresh_from_db()
    return connection


async def test_a_calendar_event_makes_the_slot_busy_and_alternatives_avoid_it(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 14), local(business, tuesday, 15))
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
        end = start + haircut.duration
        assert not (start < local(business, tuesday, 15) and end > local(business, tuesday, 14))
    assert at_three.available


async def test_free_events_and_other_calendars_are_respected(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    fake_google.add_calendar("team@example.com", "Team")
    await sync_to_async(GoogleCalendarConnection.objects.filter(pk=connection.pk).update)(
        busy_calendar_ids=["primary", "team@example.com"]
    )
    fake_google.add_event(
        "primary", local(business, tuesday, 10), local(business, tuesday, 11), transparent=True
    )
    fake_google.add_event(
        "team@example.com", local(business, tuesday, 11), local(business, tuesday, 12)
    )
    provider = provider_for(business)

    free_event = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 10))
    )
    team_event = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 11))
    )

    assert free_event.available
    assert not team_event.available


async def test_answers_during_a_call_come_from_the_prefetch(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 14), local(business, tuesday, 15))
    provider = provider_for(business)

    await provider.prepare_for_call()
    asked = fake_google.count("POST", "/calendar/v3/freeBusy")
    for hour in (9, 10, 11, 14, 15, 16):
        await provider.check_availability(
            context(business, haircut, local(business, tuesday, hour))
        )
    await provider.free_starts(
        service=haircut,
        start=local(business, tuesday, 9),
        end=local(business, tuesday, 17),
        limit=3,
    )

    assert asked == 1
    assert fake_google.count("POST", "/calendar/v3/freeBusy") == asked


async def test_the_chosen_slot_is_rechecked_with_google_before_booking(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    provider = provider_for(business)
    await provider.prepare_for_call()
    wanted = context(business, haircut, local(business, tuesday, 15))
    assert (await provider.check_availability(wanted)).available

    # Staff put something in the calendar while the caller was still talking.
    fake_google.add_event("primary", local(business, tuesday, 15), local(business, tuesday, 16))
    intent = await provider.create_booking(wanted)

    assert not intent.booked and intent.reason == Refusal.TAKEN
    assert intent.alternatives
    assert not await sync_to_async(Booking.objects.exists)()


async def test_a_booking_waits_for_its_event(business, haircut, connection, fake_google):
    tuesday = upcoming(business, 1)
    intent = await provider_for(business).create_booking(
        context(business, haircut, local(business, tuesday, 15))
    )

    booking = await sync_to_async(Booking.objects.get)(pk=intent.booking_id)
    assert booking.provider == "google_calendar"
    sync = await sync_to_async(CalendarEventSync.objects.get)(booking=booking)
    assert sync.status == CalendarEventSync.Status.PENDING


async def test_events_off_means_no_event_is_expected(business, haircut, connection):
    tuesday = upcoming(business, 1)
    intent = await provider_for(business, create_events=False).create_booking(
        context(business, haircut, local(business, tuesday, 15))
    )

    assert intent.booked
    assert not await CalendarEventSync.objects.filter(booking_id=intent.booking_id).aexists()


async def test_availability_off_never_asks_google(business, haircut, connection, fake_google):
    tuesday = upcoming(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 15), local(business, tuesday, 16))
    provider = provider_for(business, check_availability=False)

    await provider.prepare_for_call()
    result = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))

    assert result.available and intent.booked
    assert fake_google.count("POST", "/calendar/v3/freeBusy") == 0


# -- Moves: the same live re-check as a new booking; the booking's own event is not in the way


async def test_a_move_is_rechecked_with_google_and_refused_when_an_event_took_the_time(
    business, haircut, connection, fake_google, settings
):
    settings.OUTBOX_RUN_IN_PROCESS = False  # no calendar work in the background here
    tuesday = upcoming(business, 1)
    booked = await provider_for(business).create_booking(
        context(business, haircut, local(business, tuesday, 11))
    )
    provider = provider_for(business)  # the caller rings back to move it
    await provider.prepare_for_call()
    wanted = context(business, haircut, local(business, tuesday, 15))
    moving = replace(wanted, moving_booking_id=booked.booking_id)
    assert (await provider.check_availability(moving)).available

    # Staff put something in the calendar while the caller was still talking.
    fake_google.add_event("primary", local(business, tuesday, 15), local(business, tuesday, 16))
    intent = await provider.move_booking(wanted, booked.booking_id)

    assert not intent.booked and intent.reason == Refusal.TAKEN
    assert intent.alternatives
    assert local(business, tuesday, 15) not in intent.alternatives
    rows = await sync_to_async(list)(Booking.objects.values_list("pk", "status", "start"))
    assert rows == [(booked.booking_id, Booking.Status.CONFIRMED, local(business, tuesday, 11))]


async def test_a_booking_moves_a_quarter_of_an_hour_past_its_own_calendar_event(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    booked = await provider_for(business).create_booking(
        context(business, haircut, local(business, tuesday, 11))
    )
    # Its event is in the calendar (written by the outbox after the booking).
    await sync_to_async(event_sync.create_event)(booking_id=booked.booking_id)
    provider = provider_for(business)
    later = context(business, haircut, local(business, tuesday, 11, 15))

    checked = await provider.check_availability(replace(later, moving_booking_id=booked.booking_id))
    intent = await provider.move_booking(later, booked.booking_id)

    assert checked.available
    assert intent.booked
    moved = await sync_to_async(Booking.objects.get)(pk=intent.booking_id)
    assert (moved.status, moved.start) == (
        Booking.Status.CONFIRMED,
        local(business, tuesday, 11, 15),
    )
    old = await sync_to_async(Booking.objects.get)(pk=booked.booking_id)
    assert old.status == Booking.Status.CANCELLED
    # The cancelled booking's event goes (the new one gets its own via after_booking).
    assert await asyncio.to_thread(outbox.wait_for_nudges, 15)
    assert fake_google.events("primary") == []


# -- Degradation: the booking never fails, the problem is recorded --------------------------


async def test_not_connected_falls_back_to_our_own_bookings(business, haircut, caplog):
    tuesday = upcoming(business, 1)
    provider = provider_for(business)

    with caplog.at_level(logging.WARNING):
        result = await provider.check_availability(
            context(business, haircut, local(business, tuesday, 15))
        )
        intent = await provider.create_booking(
            context(business, haircut, local(business, tuesday, 15))
        )

    assert result.available and intent.booked
    assert "never connected" in caplog.text


@pytest.mark.parametrize(
    ("status", "reason", "recorded"),
    [
        (500, "backendError", "did not answer"),
        (503, "backendError", "did not answer"),
        (429, "rateLimitExceeded", "rate-limited"),
        (403, "rateLimitExceeded", "rate-limited"),
    ],
)
async def test_google_failures_degrade_and_are_recorded(
    business, haircut, connection, fake_google, status, reason, recorded
):
    tuesday = upcoming(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 15), local(business, tuesday, 16))
    fake_google.fail("/calendar/v3/freeBusy", status, reason=reason, times=100)
    provider = provider_for(business)

    result = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))

    assert result.available  # per our own bookings: Google couldn't tell us otherwise
    assert intent.booked
    connection = await reload(connection)
    assert recorded in connection.last_error
    assert connection.last_error_at is not None
    assert connection.status == GoogleCalendarConnection.Status.CONNECTED


async def test_a_slow_google_is_cut_short(business, haircut, connection, fake_google, settings):
    settings.GOOGLE_IN_CALL_TIMEOUT = 0.5
    tuesday = upcoming(business, 1)
    fake_google.hang("/calendar/v3/freeBusy", times=100)
    provider = provider_for(business)

    started = time.monotonic()
    result = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    checked = time.monotonic()
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))
    booked = time.monotonic()

    assert result.available and intent.booked
    # One timeout each: the caller never waits for Google twice in a row.
    assert checked - started < 0.5 * 2
    assert booked - checked < 0.5 * 2
    connection = await reload(connection)
    assert "did not answer" in connection.last_error


async def test_undecryptable_tokens_degrade_loudly_and_calls_go_on(
    business, haircut, connection, settings, caplog
):
    old_keys = settings.FERNET_KEYS
    settings.FERNET_KEYS = ["a-key-that-never-encrypted-these-tokens"]
    forget_cached_fernet_keys()
    try:
        with caplog.at_level(logging.ERROR):
            result = await provider_for(business).check_availability(
                context(business, haircut, local(business, upcoming(business, 1), 15))
            )
        last_error = await sync_to_async(
            GoogleCalendarConnection.objects.filter(pk=connection.pk)
            .values_list("last_error", flat=True)
            .get
        )()
    finally:
        settings.FERNET_KEYS = old_keys
        forget_cached_fernet_keys()

    assert result.available
    assert "cannot be decrypted" in caplog.text
    assert "cannot be decrypted" in last_error


async def test_a_revoked_token_needs_a_reconnect_and_bookings_still_work(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    fake_google.expire_access_tokens()
    fake_google.invalidate_refresh_tokens()
    provider = provider_for(business)

    result = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))

    assert result.available and intent.booked
    connection = await reload(connection)
    assert connection.status == GoogleCalendarConnection.Status.NEEDS_RECONNECT
    assert connection.last_error


async def test_a_calendar_google_cannot_read_is_reported_not_treated_as_free(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    fake_google.add_calendar("gone@example.com", "Gone", failing_reason="notFound")
    await sync_to_async(GoogleCalendarConnection.objects.filter(pk=connection.pk).update)(
        busy_calendar_ids=["primary", "gone@example.com"]
    )
    fake_google.add_event("primary", local(business, tuesday, 15), local(business, tuesday, 16))
    provider = provider_for(business)

    result = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )

    assert not result.available  # the readable calendar still counts
    connection = await reload(connection)
    assert "gone@example.com" in connection.last_error


async def test_after_an_outage_the_next_call_sees_the_calendar_again(
    business, haircut, connection, fake_google
):
    tuesday = upcoming(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 15), local(business, tuesday, 16))
    fake_google.fail("/calendar/v3/freeBusy", 500, reason="backendError", times=100)
    first_call = provider_for(business)
    assert (
        await first_call.check_availability(
            context(business, haircut, local(business, tuesday, 15))
        )
    ).available

    fake_google.clear_faults()
    next_call = provider_for(business)
    result = await next_call.check_availability(
        context(business, haircut, local(business, tuesday, 15))
    )

    assert not result.available


def test_horizon_longer_than_ninety_days_is_fetched(business, haircut, connection, fake_google):
    business.horizon_days = 200
    business.save()
    far = local(business, upcoming(business, 1) + timedelta(days=150), 15)
    fake_google.add_event("primary", far, far + timedelta(hours=1))
    from asgiref.sync import async_to_sync

    result = async_to_sync(provider_for(business).check_availability)(
        context(business, haircut, far)
    )

    assert not result.available


def test_switching_to_google_in_admin_keeps_its_features_on(admin_client):
    business = BusinessFactory()  # native
    url = f"/admin/bookings/business/{business.pk}/change/"
    data = form_values(admin_client.get(url).content.decode())

    response = admin_client.post(url, data | {"booking_provider": "google_calendar"})

    assert response.status_code == 302
    business.refresh_from_db()
    provider = resolve_provider(business)
    assert isinstance(provider, GoogleCalendarProvider)
    assert provider.options["check_availability"] and provider.options["create_events"]
