"""Several calendars checked together (bookings.providers.chain) with the real Google
client against the loopback fake Google: a time is busy if any source says so, events go
to the one calendar chosen for them, and a failing source degrades as it does alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, Business
from bookings.outbox import run_due
from bookings.providers import registry
from bookings.providers.chain import ChainProvider
from bookings.providers.native import NativeBookingProvider
from bookings.providers.registry import resolve_provider
from bookings.services import cancel_booking
from bookings.slots import Refusal
from bookings.tests.factories import BusinessFactory, ServiceFactory
from bookings.tests.page_forms import form_values
from bookings.tests.timeutil import local, upcoming
from integrations.google_calendar import client
from integrations.google_calendar.models import CalendarEventSync, GoogleCalendarConnection
from integrations.google_calendar.tests.connected import connect_business
from integrations.google_calendar.tests.test_provider import context

pytestmark = pytest.mark.django_db(transaction=True)
GOOGLE = "google_calendar"


@pytest.fixture(autouse=True)
def by_hand(settings, monkeypatch):
    settings.OUTBOX_RUN_IN_PROCESS = False
    monkeypatch.setattr(client, "BACKOFF_BASE", 0)


@pytest.fixture
def business(db):
    return BusinessFactory(
        booking_provider="chain",
        provider_options={"sources": [GOOGLE], "write_events_to": GOOGLE},
    )


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=30)


@pytest.fixture
def connection(business, fake_google):
    return connect_business(business, fake_google)


class ShopCalendar(NativeBookingProvider):
    """A second calendar source standing in for the Outlook one to come: the chain knows
    sources only through the provider contract, so any registered source plugs in."""

    name = "shop_calendar"
    label = "Shop calendar"
    calendar_source = True
    busy: list = []

    async def external_busy(self):
        return list(self.busy)

    async def live_busy(self, context):
        return list(self.busy)

    def known_busy(self):
        return list(self.busy)


@pytest.fixture
def shop_calendar(monkeypatch):
    monkeypatch.setitem(registry.PROVIDERS, ShopCalendar.name, ShopCalendar)
    monkeypatch.setattr(ShopCalendar, "busy", [])
    return ShopCalendar


@sync_to_async
def provider_for(business: Business) -> ChainProvider:
    business.refresh_from_db()
    provider = resolve_provider(business)
    assert isinstance(provider, ChainProvider)
    return provider


async def test_a_google_event_is_busy_and_a_free_slot_is_booked_with_its_event(
    business, haircut, connection, fake_google
):
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 14), local(business, tuesday, 15))
    provider = await provider_for(business)
    await provider.prepare_for_call()

    busy = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 14))
    )
    assert not busy.available and busy.reason == Refusal.TAKEN
    assert all(
        not (
            s < local(business, tuesday, 15) and s + haircut.duration > local(business, tuesday, 14)
        )
        for s in busy.alternatives
    )
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))
    assert intent.booked
    booking = await Booking.objects.aget(pk=intent.booking_id)
    assert booking.provider == "chain"
    sync = await CalendarEventSync.objects.aget(booking=booking)
    assert sync.status == CalendarEventSync.Status.PENDING

    await sync_to_async(run_due)()
    await sync.arefresh_from_db()
    assert sync.status == CalendarEventSync.Status.SYNCED
    ids = [event["id"] for event in fake_google.events("primary")]
    assert len(ids) == 2 and sync.event_id in ids

    await sync_to_async(cancel_booking)(booking=booking)
    await sync_to_async(run_due)()
    assert sync.event_id not in [e["id"] for e in fake_google.events("primary")]


async def test_a_time_is_busy_if_any_source_says_so(
    business, haircut, connection, fake_google, shop_calendar
):
    await Business.objects.filter(pk=business.pk).aupdate(
        provider_options={"sources": [GOOGLE, "shop_calendar"], "write_events_to": GOOGLE}
    )
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 10), local(business, tuesday, 11))
    shop_calendar.busy = [(local(business, tuesday, 12), local(business, tuesday, 13))]
    provider = await provider_for(business)
    assert set(provider.sources) == {GOOGLE, "shop_calendar"}

    for hour, free in [(10, False), (11, True), (12, False), (13, True)]:
        result = await provider.check_availability(
            context(business, haircut, local(business, tuesday, hour))
        )
        assert result.available is free, hour
    starts = await provider.free_starts(
        service=haircut,
        start=local(business, tuesday, 9),
        end=local(business, tuesday, 14),
        limit=50,
    )
    assert local(business, tuesday, 10, 15) not in starts
    assert local(business, tuesday, 12, 30) not in starts
    assert local(business, tuesday, 11) in starts

    # Live before booking: an event the other source gained during the call still wins.
    shop_calendar.busy = [(local(business, tuesday, 11), local(business, tuesday, 12))]
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 11)))
    assert not intent.booked and intent.reason == Refusal.TAKEN
    assert intent.alternatives


async def test_a_failing_source_degrades_and_is_recorded_while_the_others_count(
    business, haircut, connection, fake_google, shop_calendar
):
    await Business.objects.filter(pk=business.pk).aupdate(
        provider_options={"sources": [GOOGLE, "shop_calendar"], "write_events_to": GOOGLE}
    )
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 15), local(business, tuesday, 16))
    fake_google.fail("/calendar/v3/freeBusy", 500, reason="backendError", times=100)
    shop_calendar.busy = [(local(business, tuesday, 12), local(business, tuesday, 13))]
    provider = await provider_for(business)
    await provider.prepare_for_call()

    shop_busy = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 12))
    )
    assert not shop_busy.available  # the working source still counts
    # Google can't say: our own bookings decide, the booking is made, the problem recorded.
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 15)))
    assert intent.booked
    connection = await GoogleCalendarConnection.objects.aget(pk=connection.pk)
    assert connection.last_error.startswith("Google Calendar did not answer")
    assert connection.status == GoogleCalendarConnection.Status.CONNECTED


async def test_a_revoked_google_in_the_chain_still_books_and_needs_reconnect(
    business, haircut, connection, fake_google
):
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_google.expire_access_tokens()
    fake_google.invalidate_refresh_tokens()
    provider = await provider_for(business)
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 9)))
    assert intent.booked
    connection = await GoogleCalendarConnection.objects.aget(pk=connection.pk)
    assert connection.status == GoogleCalendarConnection.Status.NEEDS_RECONNECT


async def test_events_can_be_kept_out_of_every_calendar(business, haircut, connection, fake_google):
    await Business.objects.filter(pk=business.pk).aupdate(
        provider_options={"sources": [GOOGLE], "write_events_to": ""}
    )
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_google.add_event("primary", local(business, tuesday, 10), local(business, tuesday, 11))
    provider = await provider_for(business)
    busy = await provider.check_availability(
        context(business, haircut, local(business, tuesday, 10))
    )
    assert not busy.available  # still read
    intent = await provider.create_booking(context(business, haircut, local(business, tuesday, 11)))
    assert intent.booked
    assert not await CalendarEventSync.objects.filter(booking_id=intent.booking_id).aexists()
    await sync_to_async(run_due)(now=timezone.now() + timedelta(minutes=1))
    assert len(fake_google.events("primary")) == 1  # only the one that was there


def test_the_chain_is_configured_in_admin_and_one_switch_from_native(admin_client, business):
    url = reverse("admin:bookings_business_change", args=[business.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="option_sources"' in page and 'value="google_calendar"' in page
    assert 'name="option_write_events_to"' in page
    data = form_values(page)

    # Writing to a calendar that isn't checked is refused with a reason.
    refused = admin_client.post(
        url, data | {"option_sources": [], "option_write_events_to": GOOGLE}
    )
    assert refused.status_code == 200
    assert "Choose one of the calendars that are checked." in refused.content.decode()

    saved = admin_client.post(
        url, data | {"option_sources": [GOOGLE], "option_write_events_to": ""}
    )
    assert saved.status_code == 302
    business.refresh_from_db()
    assert business.provider_options["sources"] == [GOOGLE]
    assert business.provider_options["write_events_to"] == ""

    # The kill switch: the business list flips it to native.
    changelist = reverse("admin:bookings_business_changelist")
    form = form_values(admin_client.get(changelist).content.decode())
    form |= {"form-0-booking_provider": "native", "_save": "Save"}
    assert admin_client.post(changelist, form).status_code == 302
    business.refresh_from_db()
    assert business.booking_provider == "native"
    assert type(resolve_provider(business)) is NativeBookingProvider
