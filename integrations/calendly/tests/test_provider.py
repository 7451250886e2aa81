"""CalendlyProvider through our real client against the loopback fake Calendly: times come
from Calendly, a booking is the invitee Calendly created (then recorded here as Calendly's),
a lost time is refused with Calendly's alternatives, cancellations reach Calendly, and when
Calendly can't book, nothing is booked here and the caller is told so."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError
from django.utils import timezone

from bookings import outbox
from bookings.models import Booking, OutboxTask
from bookings.providers.base import BookingContext, ProviderUnavailable
from bookings.providers.registry import resolve_provider
from bookings.services import book_slot, cancel_booking
from bookings.slots import Refusal
from bookings.tests.factories import ServiceFactory
from bookings.tests.timeutil import local, upcoming
from calls.sms.models import SmsOptOut
from integrations.calendly import connections
from integrations.calendly import provider as provider_module
from integrations.calendly.models import CalendlyBooking, CalendlyConnection
from integrations.calendly.provider import CalendlyProvider
from integrations.calendly.tests.connected import PHONE_BOOKINGS, map_service

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY, TUESDAY = 0, 1


def context(business, service, start, *, name="Maria", phone="+15555550123") -> BookingContext:
    return BookingContext(
        business=business,
        service=service,
        start=start,
        end=start + service.duration,
        customer_name=name,
        customer_phone=phone,
        call_sid="CA" + "1" * 32,
    )


def provider_for(business) -> CalendlyProvider:
    provider = resolve_provider(business)
    assert isinstance(provider, CalendlyProvider)
    return provider


@sync_to_async
def bookings_of(business) -> list[Booking]:
    return list(Booking.objects.filter(business=business).order_by("start"))


@sync_to_async
def reload(connection: CalendlyConnection) -> CalendlyConnection:
    connection.refresh_from_db()
    return connection


# -- Times come from Calendly ---------------------------------------------------------------


async def test_offered_times_are_calendlys_not_our_opening_hours(
    business, haircut, haircut_type, fake_calendly
):
    # We open Monday to Saturday; the Calendly host only works Tuesdays, 11 to 1.
    fake_calendly.hours = {TUESDAY: (11, 13)}
    monday, tuesday = upcoming(business, MONDAY), upcoming(business, TUESDAY)
    provider = provider_for(business)

    on_tuesday = await provider.free_starts(
        service=haircut,
        start=local(business, tuesday, 0),
        end=local(business, tuesday, 23, 59),
        limit=10,
    )
    on_monday = await provider.free_starts(
        service=haircut,
        start=local(business, monday, 0),
        end=local(business, monday, 23, 59),
        limit=10,
    )

    assert on_tuesday == [
        local(business, tuesday, h, m) for h, m in [(11, 0), (11, 30), (12, 0), (12, 30)]
    ]
    assert on_monday == []
    monday_ten = await provider.check_availability(
        context(business, haircut, local(business, monday, 10))
    )
    assert not monday_ten.available
    assert monday_ten.alternatives and all(
        a.astimezone(business.tz).weekday() == TUESDAY for a in monday_ten.alternatives
    )


async def test_a_time_booked_in_calendly_is_refused_with_calendlys_alternatives(
    business, haircut, haircut_type, fake_calendly
):
    day = upcoming(business, TUESDAY)
    fake_calendly.book(haircut_type, local(business, day, 14))

    checked = await provider_for(business).check_availability(
        context(business, haircut, local(business, day, 14))
    )

    assert not checked.available
    assert checked.reason == Refusal.TAKEN
    assert local(business, day, 13, 30) in checked.alternatives
    assert local(business, day, 14, 30) in checked.alternatives
    assert local(business, day, 14) not in checked.alternatives


async def test_a_fortnight_is_read_in_windows_calendly_accepts(
    business, haircut, haircut_type, fake_calendly
):
    start = timezone.now() + timedelta(days=1)

    starts = await provider_for(business).free_starts(
        service=haircut, start=start, end=start + timedelta(days=15), limit=1000
    )

    assert fake_calendly.count("GET", "/event_type_available_times") == 3  # 7 + 7 + 1 days
    assert starts == sorted(starts) and starts[-1] > start + timedelta(days=14)


# -- Booking is creating the invitee ----------------------------------------------------------


async def test_booking_creates_the_invitee_in_calendly_then_records_it_as_calendlys(
    business, haircut, haircut_type, fake_calendly
):
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert intent.booked
    (invitee,) = fake_calendly.invitees()
    assert invitee["start"] == start
    assert invitee["name"] == "Maria"
    assert invitee["email"] == PHONE_BOOKINGS  # the business's own address, never invented
    assert invitee["text_reminder_number"] == "+15555550123"
    assert invitee["timezone"] == "America/New_York"
    (booking,) = await bookings_of(business)
    assert (booking.pk, booking.provider, booking.start) == (intent.booking_id, "calendly", start)
    record = await sync_to_async(CalendlyBooking.objects.get)(booking=booking)
    assert record.invitee_uri == invitee["uri"]
    assert record.event_uuid == invitee["event_uuid"]


async def test_a_caller_who_texted_stop_gets_no_texts_from_calendly(
    business, haircut, haircut_type, fake_calendly
):
    await sync_to_async(SmsOptOut.objects.create)(
        business=business, phone="+15555550123", opted_out_at=timezone.now()
    )
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert intent.booked
    (invitee,) = fake_calendly.invitees()
    assert "text_reminder_number" not in invitee  # no number sent at all


async def test_second_caller_for_the_same_time_is_refused_and_nothing_is_recorded(
    business, haircut, haircut_type, fake_calendly
):
    start = local(business, upcoming(business, TUESDAY), 15)
    first = provider_for(business)
    second = provider_for(business)
    # The second caller was told 3 PM is free before the first one booked it.
    assert (await second.check_availability(context(business, haircut, start))).available

    assert (await first.create_booking(context(business, haircut, start))).booked
    lost = await second.create_booking(context(business, haircut, start, name="Jo"))

    assert not lost.booked
    assert lost.reason == Refusal.TAKEN
    assert start not in lost.alternatives and lost.alternatives
    assert len(fake_calendly.invitees()) == 1
    assert len(await bookings_of(business)) == 1


async def test_a_local_booking_in_the_way_undoes_the_calendly_booking(
    business, haircut, haircut_type, fake_calendly
):
    start = local(business, upcoming(business, TUESDAY), 15)
    # Staff booked 3 PM here (not in Calendly): Calendly still offers it.
    await sync_to_async(book_slot)(
        business=business,
        service=haircut,
        start=start,
        customer_name="Walk-in",
        customer_phone="+15555550999",
        provider="native",
    )

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.TAKEN
    assert fake_calendly.invitees() == []  # cancelled again at Calendly
    assert len(fake_calendly.invitees(status="canceled")) == 1


async def test_a_clash_calendly_will_not_cancel_is_sent_to_staff(
    business, haircut, haircut_type, connection, fake_calendly
):
    business.notification_emails = "owner@salon.example"
    await sync_to_async(business.save)(update_fields=["notification_emails"])
    start = local(business, upcoming(business, TUESDAY), 15)
    await sync_to_async(book_slot)(
        business=business,
        service=haircut,
        start=start,
        customer_name="Walk-in",
        customer_phone="+15555550999",
        provider="native",
    )
    fake_calendly.fail("/scheduled_events", 503, times=10)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.TAKEN
    assert len(fake_calendly.invitees()) == 1  # still in Calendly: staff must cancel it
    (notice,) = await sync_to_async(list)(OutboxTask.objects.filter(kind="staff.email"))
    assert "Cancel a booking in Calendly" in notice.payload["subject"]
    assert "Maria (+15555550123), Haircut" in notice.payload["body"]
    assert "cancel it in Calendly" in (await reload(connection)).last_error


def _saving_fails(*args, **kwargs):
    raise OperationalError("could not write: the database is unavailable")


async def test_a_booking_we_cannot_save_is_cancelled_at_calendly(
    business, haircut, haircut_type, fake_calendly, monkeypatch
):
    monkeypatch.setattr(provider_module, "book_slot", _saving_fails)
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.UNAVAILABLE
    assert fake_calendly.invitees() == []
    assert len(fake_calendly.invitees(status="canceled")) == 1
    assert await bookings_of(business) == []


async def test_an_unsaved_booking_calendly_will_not_cancel_is_sent_to_staff(
    business, haircut, haircut_type, fake_calendly, monkeypatch
):
    business.notification_emails = "owner@salon.example"
    await sync_to_async(business.save)(update_fields=["notification_emails"])
    monkeypatch.setattr(provider_module, "book_slot", _saving_fails)
    fake_calendly.fail("/scheduled_events", 503, times=10)
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.UNAVAILABLE
    assert len(fake_calendly.invitees()) == 1
    (notice,) = await sync_to_async(list)(OutboxTask.objects.filter(kind="staff.email"))
    assert "Cancel a booking in Calendly" in notice.payload["subject"]


async def test_a_move_we_cannot_save_keeps_the_old_booking_and_cancels_the_new_event(
    business, haircut, haircut_type, fake_calendly, monkeypatch
):
    day = upcoming(business, TUESDAY)
    provider = provider_for(business)
    first = await provider.create_booking(context(business, haircut, local(business, day, 15)))
    monkeypatch.setattr(provider_module, "move_booked_slot", _saving_fails)

    moved = await provider.move_booking(
        context(business, haircut, local(business, day, 16)), first.booking_id
    )

    assert not moved.booked and moved.reason == Refusal.UNAVAILABLE
    (active,) = fake_calendly.invitees()
    assert active["start"] == local(business, day, 15)
    assert [b.status for b in await bookings_of(business)] == ["confirmed"]


async def test_without_a_phone_booking_email_nothing_is_sent_to_calendly(
    business, haircut, haircut_type, connection, fake_calendly
):
    await sync_to_async(connections.save_invitee_email)(connection=connection, invitee_email="")
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.UNAVAILABLE
    assert fake_calendly.count("POST", "/invitees") == 0
    assert await bookings_of(business) == []
    assert "No email is set for phone bookings" in (await reload(connection)).last_error


async def test_a_service_without_an_event_type_cannot_be_booked_by_phone(
    business, connection, fake_calendly
):
    manicure = await sync_to_async(ServiceFactory)(business=business, name="Manicure")
    start = local(business, upcoming(business, TUESDAY), 15)
    provider = provider_for(business)

    checked = await provider.check_availability(context(business, manicure, start))

    assert checked.reason == Refusal.UNAVAILABLE
    with pytest.raises(ProviderUnavailable):
        await provider.free_starts(
            service=manicure, start=start, end=start + timedelta(hours=3), limit=5
        )
    assert "Manicure" in (await reload(connection)).last_error


# -- Cancelling and moving go to Calendly ------------------------------------------------------


async def test_cancelling_cancels_the_event_in_calendly(
    business, haircut, haircut_type, fake_calendly
):
    start = local(business, upcoming(business, TUESDAY), 15)
    intent = await provider_for(business).create_booking(context(business, haircut, start))
    booking = await sync_to_async(Booking.objects.get)(pk=intent.booking_id)

    await sync_to_async(cancel_booking)(booking=booking)
    await sync_to_async(outbox.run_due)()

    assert fake_calendly.invitees() == []
    (cancelled,) = fake_calendly.invitees(status="canceled")
    assert (
        cancelled["uri"]
        == (await sync_to_async(CalendlyBooking.objects.get)(booking=booking)).invitee_uri
    )
    record = await sync_to_async(CalendlyBooking.objects.get)(booking=booking)
    assert record.status == CalendlyBooking.Status.CANCELLED


async def test_a_cancellation_waits_for_calendly_and_is_retried(
    business, haircut, haircut_type, fake_calendly
):
    start = local(business, upcoming(business, TUESDAY), 15)
    intent = await provider_for(business).create_booking(context(business, haircut, start))
    booking = await sync_to_async(Booking.objects.get)(pk=intent.booking_id)
    fake_calendly.fail("/scheduled_events/", 503)

    await sync_to_async(cancel_booking)(booking=booking)
    await sync_to_async(outbox.run_due)()
    assert len(fake_calendly.invitees()) == 1  # Calendly was down: still there, task waiting
    await sync_to_async(outbox.run_due)(now=timezone.now() + timedelta(hours=1))

    assert fake_calendly.invitees() == []


async def test_moving_books_the_new_time_in_calendly_and_cancels_the_old(
    business, haircut, haircut_type, fake_calendly
):
    day = upcoming(business, TUESDAY)
    provider = provider_for(business)
    first = await provider.create_booking(context(business, haircut, local(business, day, 15)))

    moved = await provider.move_booking(
        context(business, haircut, local(business, day, 16)), first.booking_id
    )
    await sync_to_async(outbox.run_due)()

    assert moved.booked
    (active,) = fake_calendly.invitees()
    assert active["start"] == local(business, day, 16)
    assert [b.status for b in await bookings_of(business)] == ["cancelled", "confirmed"]


async def test_moving_a_booking_made_before_calendly_makes_a_calendly_booking(
    business, haircut, haircut_type, fake_calendly
):
    day = upcoming(business, TUESDAY)
    # Booked here before the business switched to Calendly.
    outcome = await sync_to_async(book_slot)(
        business=business,
        service=haircut,
        start=local(business, day, 15),
        customer_name="Maria",
        customer_phone="+15555550123",
        provider="native",
    )

    moved = await provider_for(business).move_booking(
        context(business, haircut, local(business, day, 16)), outcome.booking.pk
    )

    assert moved.booked
    new = await sync_to_async(Booking.objects.get)(pk=moved.booking_id)
    assert new.provider == "calendly"
    assert await sync_to_async(CalendlyBooking.objects.filter(booking=new).exists)()


# -- When Calendly can't book -------------------------------------------------------------------


async def test_calendly_down_means_no_booking_here_and_an_honest_refusal(
    business, haircut, haircut_type, connection, fake_calendly
):
    fake_calendly.fail("/event_type_available_times", 503, times=10)
    fake_calendly.fail("/invitees", 503, times=10)
    start = local(business, upcoming(business, TUESDAY), 15)
    provider = provider_for(business)

    checked = await provider.check_availability(context(business, haircut, start))
    problem = (await reload(connection)).last_error
    intent = await provider.create_booking(context(business, haircut, start))

    assert checked.reason == Refusal.UNAVAILABLE and checked.alternatives == []
    assert "Calendly did not answer" in problem
    assert not intent.booked and intent.reason == Refusal.UNAVAILABLE
    assert await bookings_of(business) == []
    # A 5xx to the booking itself may still have booked: staff are asked to check.
    assert "did not confirm a booking" in (await reload(connection)).last_error


async def test_no_answer_to_a_booking_is_reported_for_staff_to_check(
    business, haircut, haircut_type, connection, fake_calendly, settings
):
    settings.CALENDLY_IN_CALL_TIMEOUT = 0.5
    business.notification_emails = "owner@salon.example"
    await sync_to_async(business.save)(update_fields=["notification_emails"])
    fake_calendly.hang("/invitees")
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.UNAVAILABLE
    assert fake_calendly.count("POST", "/invitees") == 1  # a write is never retried
    assert await bookings_of(business) == []
    assert "did not confirm a booking" in (await reload(connection)).last_error
    (notice,) = await sync_to_async(list)(OutboxTask.objects.filter(kind="staff.email"))
    assert "Maria (+15555550123), Haircut" in notice.payload["body"]


async def test_a_server_error_to_a_booking_is_reported_for_staff_to_check(
    business, haircut, haircut_type, connection, fake_calendly
):
    business.notification_emails = "owner@salon.example"
    await sync_to_async(business.save)(update_fields=["notification_emails"])
    fake_calendly.fail("/invitees", 502)
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.UNAVAILABLE
    assert fake_calendly.count("POST", "/invitees") == 1
    assert "did not confirm a booking" in (await reload(connection)).last_error
    (notice,) = await sync_to_async(list)(OutboxTask.objects.filter(kind="staff.email"))
    assert "Maria (+15555550123), Haircut" in notice.payload["body"]


async def test_no_answer_while_refreshing_the_token_is_no_booking_to_check(
    business, haircut, haircut_type, connection, fake_calendly, settings
):
    settings.CALENDLY_IN_CALL_TIMEOUT = 0.5
    business.notification_emails = "owner@salon.example"
    await sync_to_async(business.save)(update_fields=["notification_emails"])
    fake_calendly.expire_access_tokens()
    connection.access_token_expires_at = timezone.now() - timedelta(minutes=5)
    await sync_to_async(connection.save)(update_fields=["access_token_expires_at"])
    fake_calendly.hang("/oauth/token")
    start = local(business, upcoming(business, TUESDAY), 15)

    intent = await provider_for(business).create_booking(context(business, haircut, start))

    assert not intent.booked and intent.reason == Refusal.UNAVAILABLE
    assert fake_calendly.count("POST", "/invitees") == 0  # never sent: nothing to check
    assert not await sync_to_async(OutboxTask.objects.filter(kind="staff.email").exists)()
    assert "Calendly did not answer" in (await reload(connection)).last_error


async def test_a_revoked_grant_needs_reconnect_and_tells_staff(
    business, haircut, haircut_type, connection, fake_calendly
):
    business.notification_emails = "owner@salon.example"
    await sync_to_async(business.save)(update_fields=["notification_emails"])
    fake_calendly.invalidate_refresh_tokens()
    fake_calendly.expire_access_tokens()
    start = local(business, upcoming(business, TUESDAY), 15)

    checked = await provider_for(business).check_availability(context(business, haircut, start))

    assert checked.reason == Refusal.UNAVAILABLE
    connection = await reload(connection)
    assert connection.status == CalendlyConnection.Status.NEEDS_RECONNECT
    assert connection.access_token is None
    notices = await sync_to_async(list)(OutboxTask.objects.filter(kind="staff.email"))
    assert len(notices) == 1 and "Calendly needs reconnecting" in notices[0].payload["subject"]


async def test_an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept(
    business, haircut, haircut_type, connection, fake_calendly
):
    old_refresh = connection.refresh_token
    fake_calendly.expire_access_tokens()
    start = local(business, upcoming(business, TUESDAY), 15)

    checked = await provider_for(business).check_availability(context(business, haircut, start))

    assert checked.available
    connection = await reload(connection)
    assert connection.refresh_token != old_refresh
    assert fake_calendly.count("POST", "/oauth/token") == 1
    # The rotated token works; the old one is spent (single use).
    fake_calendly.expire_access_tokens()
    assert (
        await provider_for(business).check_availability(context(business, haircut, start))
    ).available


async def test_the_call_prefetch_answers_later_questions_without_asking_again(
    business, haircut, haircut_type, fake_calendly
):
    provider = provider_for(business)
    await provider.prepare_for_call()
    asked = fake_calendly.count("GET", "/event_type_available_times")
    day = (timezone.now() + timedelta(days=2)).astimezone(business.tz).date()

    await provider.free_starts(
        service=haircut, start=local(business, day, 9), end=local(business, day, 18), limit=5
    )

    assert fake_calendly.count("GET", "/event_type_available_times") == asked


async def test_a_question_while_the_call_is_still_loading_waits_for_the_load(
    business, haircut, haircut_type, fake_calendly, monkeypatch
):
    read_rows = CalendlyProvider._read_rows

    def slow_read_rows(self):
        time.sleep(0.3)  # a busy database as the call starts
        return read_rows(self)

    monkeypatch.setattr(CalendlyProvider, "_read_rows", slow_read_rows)
    start = local(business, upcoming(business, TUESDAY), 15)
    provider = provider_for(business)

    prefetch = asyncio.create_task(provider.prepare_for_call())
    await asyncio.sleep(0.05)  # the prefetch is reading the rows
    checked = await provider.check_availability(context(business, haircut, start))
    await prefetch

    assert checked.available


async def test_each_service_offers_its_own_event_type(
    business, haircut, haircut_type, fake_calendly
):
    colour = await sync_to_async(ServiceFactory)(
        business=business, name="Colour", duration_minutes=120
    )
    await sync_to_async(map_service)(colour, fake_calendly, increment=30)
    day = upcoming(business, TUESDAY)
    provider = provider_for(business)

    colour_times = await provider.free_starts(
        service=colour, start=local(business, day, 0), end=local(business, day, 23), limit=50
    )

    assert colour_times[-1] == local(business, day, 16)  # 2 hours before the host's 6 PM


async def test_after_a_failure_the_next_answers_do_not_wait_on_calendly_again(
    business, haircut, haircut_type, fake_calendly
):
    fake_calendly.fail("/event_type_available_times", 503, times=2)  # the request and its retry
    start = local(business, upcoming(business, TUESDAY), 15)
    provider = provider_for(business)

    first = await provider.check_availability(context(business, haircut, start))
    asked = fake_calendly.count("GET", "/event_type_available_times")
    second = await provider.check_availability(context(business, haircut, start))

    assert first.reason == second.reason == Refusal.UNAVAILABLE
    assert fake_calendly.count("GET", "/event_type_available_times") == asked


async def test_a_cancellation_calendly_refuses_is_marked_and_staff_are_told(
    business, haircut, haircut_type, fake_calendly
):
    business.notification_emails = "owner@salon.example"
    await sync_to_async(business.save)(update_fields=["notification_emails"])
    start = local(business, upcoming(business, TUESDAY), 15)
    intent = await provider_for(business).create_booking(context(business, haircut, start))
    booking = await sync_to_async(Booking.objects.get)(pk=intent.booking_id)
    fake_calendly.fail("/scheduled_events/", 403)

    await sync_to_async(cancel_booking)(booking=booking)
    await sync_to_async(outbox.run_due)()

    record = await sync_to_async(CalendlyBooking.objects.get)(booking=booking)
    assert record.status == CalendlyBooking.Status.CANCEL_FAILED
    assert "HTTP 403" in record.error
    (notice,) = await sync_to_async(list)(OutboxTask.objects.filter(kind="staff.email"))
    assert "still in Calendly" in notice.payload["subject"]
