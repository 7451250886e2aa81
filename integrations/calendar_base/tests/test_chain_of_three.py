"""Native + Google + Outlook checked together (bookings.providers.chain), each through its
real client against its loopback fake: a time is busy if any calendar (or our own bookings)
says so, the event goes to the one calendar chosen for it, and a calendar that fails
degrades alone while the others still count."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking, Business
from bookings.outbox import run_due
from bookings.providers.base import BookingContext
from bookings.providers.chain import ChainOptionsForm, ChainProvider
from bookings.providers.registry import resolve_provider
from bookings.services import cancel_booking
from bookings.slots import Refusal
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local, upcoming
from integrations.google_calendar.models import CalendarEventSync
from integrations.google_calendar.tests.connected import connect_business as connect_google
from integrations.microsoft_calendar.models import OutlookEventSync
from integrations.microsoft_calendar.tests.connected import connect_business as connect_outlook

pytestmark = pytest.mark.django_db(transaction=True)

GOOGLE, OUTLOOK = "google_calendar", "outlook_calendar"


@pytest.fixture(autouse=True)
def by_hand(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False


def salon(write_to: str) -> Business:
    return BusinessFactory(
        booking_provider="chain",
        provider_options={"sources": [GOOGLE, OUTLOOK], "write_events_to": write_to},
    )


def context(business, service, start) -> BookingContext:
    return BookingContext(
        business=business,
        service=service,
        start=start,
        end=start + service.duration,
        customer_name="Maria",
        customer_phone="+15555550123",
        call_sid="CA" + "3" * 32,
    )


@sync_to_async
def chain_for(business: Business) -> ChainProvider:
    business.refresh_from_db()
    provider = resolve_provider(business)
    assert isinstance(provider, ChainProvider)
    return provider


def test_outlook_is_offered_as_a_calendar_source_and_a_place_for_events():
    form = ChainOptionsForm()
    assert tuple(k for k, _ in form.fields["sources"].choices if k == OUTLOOK) == (OUTLOOK,)
    assert OUTLOOK in dict(form.fields["write_events_to"].choices)
    bound = ChainOptionsForm(data={"sources": [GOOGLE, OUTLOOK], "write_events_to": OUTLOOK})
    assert bound.is_valid(), bound.errors


async def test_busy_in_any_calendar_or_our_book_is_busy_and_the_event_goes_to_outlook(
    fake_google, fake_microsoft
):
    business = await sync_to_async(salon)(OUTLOOK)
    haircut = await sync_to_async(ServiceFactory)(business=business, duration_minutes=30)
    await sync_to_async(connect_google)(business, fake_google)
    await sync_to_async(connect_outlook)(business, fake_microsoft)
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 10), local(business, tuesday, 11))
    fake_microsoft.add_event(local(business, tuesday, 11), local(business, tuesday, 12))
    await sync_to_async(BookingFactory)(
        business=business, service=haircut, start=local(business, tuesday, 12)
    )
    provider = await chain_for(business)
    await provider.prepare_for_call()

    for hour, free in ((10, False), (11, False), (12, False), (13, True)):
        answer = await provider.check_availability(
            context(business, haircut, local(business, tuesday, hour))
        )
        assert answer.available is free, hour
        if not free:
            assert answer.reason == Refusal.TAKEN
            assert answer.alternatives

    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 13)))
    assert intent.booked
    await sync_to_async(run_due)()

    sync = await OutlookEventSync.objects.aget(booking_id=intent.booking_id)
    assert sync.status == OutlookEventSync.Status.SYNCED
    assert [e["id"] for e in fake_microsoft.events() if e["subject"] != "Busy"] == [sync.event_id]
    assert [e["summary"] for e in fake_google.events("primary")] == ["Busy"]  # only read
    assert not await CalendarEventSync.objects.filter(booking_id=intent.booking_id).aexists()


async def test_outlook_down_degrades_alone_while_google_still_counts(fake_google, fake_microsoft):
    business = await sync_to_async(salon)(GOOGLE)
    haircut = await sync_to_async(ServiceFactory)(business=business, duration_minutes=30)
    await sync_to_async(connect_google)(business, fake_google)
    outlook = await sync_to_async(connect_outlook)(business, fake_microsoft)
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 10), local(business, tuesday, 11))
    fake_microsoft.add_event(local(business, tuesday, 11), local(business, tuesday, 12))
    fake_microsoft.fail("/v1.0/me/calendarView", 503, times=100)
    provider = await chain_for(business)

    google_busy = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 10))
    )
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 11)))

    assert not google_busy.available  # Google still counts
    assert intent.booked  # Outlook couldn't say: our own book decides, the booking is kept
    await sync_to_async(outlook.refresh_from_db)()
    assert "Microsoft Graph did not answer" in outlook.last_error
    await sync_to_async(run_due)()
    google_sync = await CalendarEventSync.objects.aget(booking_id=intent.booking_id)
    assert google_sync.status == CalendarEventSync.Status.SYNCED
    assert not await OutlookEventSync.objects.filter(booking_id=intent.booking_id).aexists()


@pytest.mark.parametrize(
    "switched_to",
    [
        ("native", {}),  # the kill switch
        ("chain", {"sources": [GOOGLE, OUTLOOK], "write_events_to": GOOGLE}),  # a new writer
    ],
    ids=["chain-switched-off", "writer-changed"],
)
async def test_a_cancelled_bookings_event_is_deleted_where_it_was_written(
    fake_google, fake_microsoft, switched_to
):
    business = await sync_to_async(salon)(OUTLOOK)
    haircut = await sync_to_async(ServiceFactory)(business=business, duration_minutes=30)
    await sync_to_async(connect_google)(business, fake_google)
    await sync_to_async(connect_outlook)(business, fake_microsoft)
    tuesday = await sync_to_async(upcoming)(business, 1)
    provider = await chain_for(business)
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 13)))
    await sync_to_async(run_due)()
    assert len(fake_microsoft.events()) == 1

    business.booking_provider, business.provider_options = switched_to
    await business.asave(update_fields=["booking_provider", "provider_options"])
    booking = await Booking.objects.select_related("business", "service").aget(pk=intent.booking_id)
    await sync_to_async(cancel_booking)(booking=booking)
    await sync_to_async(run_due)()

    assert fake_microsoft.events() == []
    assert fake_google.events("primary") == []
