"""Fixtures for the Calendly tests: a fake Calendly on loopback that our real client talks
to, and a business connected to it with its services mapped to event types."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Service
from bookings.tests.factories import BusinessFactory, ServiceFactory
from calls.tests.conversation import demo_business
from integrations.calendly.tests.connected import connect_business, map_service
from integrations.calendly.tests.fake_calendly import FakeCalendly


@pytest.fixture
def fake_calendly(settings, monkeypatch):
    """A running fake Calendly, with the CALENDLY_* settings pointing at it."""
    # Plain http to the loopback fake, as for the fake Google (the tests run with DEBUG off).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with FakeCalendly() as calendly:
        for name, value in calendly.settings().items():
            setattr(settings, name, value)
        yield calendly


@pytest.fixture
def business(db):
    return BusinessFactory(booking_provider="calendly")


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=30)


@pytest.fixture
def connection(business, fake_calendly):
    return connect_business(business, fake_calendly)


@pytest.fixture
def haircut_type(connection, haircut, fake_calendly) -> str:
    return map_service(haircut, fake_calendly)


@pytest.fixture
async def salon(fake_calendly):
    """The Demo Salon booking through Calendly, its haircut mapped to an event type."""
    business = await demo_business()
    business.booking_provider = "calendly"
    await sync_to_async(business.save)(update_fields=["booking_provider"])
    await sync_to_async(connect_business)(business, fake_calendly)
    haircut = await sync_to_async(Service.objects.get)(business=business, name="Haircut")
    await sync_to_async(map_service)(haircut, fake_calendly)
    return business
