"""The schedule shows a connected Google Calendar's busy times, through the real Google client
against the loopback fake, marked as such; a booking's own event is not drawn twice, and a
Google failure leaves the schedule whole with a note."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local, upcoming
from integrations.google_calendar import client
from integrations.google_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(client, "BACKOFF_BASE", 0)


@pytest.fixture
def owner():
    user = User.objects.create_superuser("owner", password="x")
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def salon(fake_google):
    business = BusinessFactory(booking_provider="google_calendar")
    ServiceFactory(business=business, name="Haircut", duration_minutes=30)
    connect_business(business, fake_google)
    return business


def schedule(owner, salon, day):
    url = reverse("admin:bookings_business_schedule", args=[salon.pk])
    return owner.get(url, {"date": day.isoformat()}).content.decode()


def test_busy_times_are_drawn_and_marked_and_own_events_are_not_doubled(owner, salon, fake_google):
    day = upcoming(salon, 2)
    fake_google.add_event("primary", local(salon, day, 13), local(salon, day, 14))
    booking = BookingFactory(service=salon.services.get(), start=local(salon, day, 10))
    # Its own event, as event sync would have written it.
    fake_google.add_event("primary", booking.start, booking.end)

    html = schedule(owner, salon, day)

    assert html.count('<div class="schedule-busy"') == 1
    assert "13:00-14:00</span> Busy in Google Calendar" in html
    assert reverse("admin:bookings_booking_change", args=[booking.pk]) in html
    assert "could not be read" not in html


def test_google_down_leaves_the_schedule_whole_and_says_so(owner, salon, fake_google):
    day = upcoming(salon, 3)
    booking = BookingFactory(service=salon.services.get(), start=local(salon, day, 11))
    fake_google.fail("/calendar/v3/freeBusy", 503, times=10)

    html = schedule(owner, salon, day)

    assert "could not be read just now" in html
    assert reverse("admin:bookings_booking_change", args=[booking.pk]) in html
    assert '<div class="schedule-busy"' not in html
