"""Staff are told, once, when the Google calendar needs reconnecting and when a booking's
event could not be written for good; each notice links to the admin page that fixes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import OutboxTask
from bookings.notifications import STAFF_EMAIL, STAFF_SMS
from bookings.outbox import run_due
from bookings.tests.factories import BusinessFactory, ServiceFactory
from calls.sms.backends import console_outbox
from integrations.google_calendar import client
from integrations.google_calendar.models import CalendarEventSync
from integrations.google_calendar.tests.connected import connect_business
from integrations.google_calendar.tests.test_event_sync import book

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "https://rx.example.com"


@pytest.fixture(autouse=True)
def run_tasks_by_hand(settings, monkeypatch):
    settings.OUTBOX_RUN_IN_PROCESS = False
    settings.PUBLIC_BASE_URL = BASE
    monkeypatch.setattr(client, "BACKOFF_BASE", 0)
    console_outbox.clear()


@pytest.fixture
def business(db):
    return BusinessFactory(
        booking_provider="google_calendar",
        timezone="Europe/London",
        notification_emails="owner@salon.example, desk@salon.example",
        staff_sms_number="+447700900999",
    )


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=45)


def run_all_due(later=timedelta(0)) -> None:
    """One pass of the worker (the notices it queues run in the next pass)."""
    run_due(now=timezone.now() + later)
    run_due(now=timezone.now() + later)


def test_a_revoked_grant_tells_staff_once_per_grant(business, haircut, fake_google, mailoutbox):
    connect_business(business, fake_google)
    fake_google.expire_access_tokens()
    fake_google.invalidate_refresh_tokens()
    book(business, haircut, 10)
    book(business, haircut, 12)
    run_all_due()
    run_all_due(later=timedelta(hours=1))  # the events retry, Google still refuses

    (mail,) = mailoutbox
    assert mail.subject == f"{business.name}: Google Calendar needs reconnecting"
    assert mail.to == ["owner@salon.example", "desk@salon.example"]
    assert f"{BASE}/admin/bookings/business/{business.pk}/change/" in mail.body
    (text,) = [sms for sms in console_outbox if sms.to == "+447700900999"]
    assert text.body.endswith(f"{BASE}/admin/bookings/business/{business.pk}/change/")

    # Reconnected, then lost again: that is news again.
    connect_business(business, fake_google)
    fake_google.expire_access_tokens()
    fake_google.invalidate_refresh_tokens()
    book(business, haircut, 14)
    run_all_due(later=timedelta(hours=2))
    assert len(mailoutbox) == 2
    assert OutboxTask.objects.filter(kind=STAFF_EMAIL).count() == 2


def test_a_booking_whose_event_fails_for_good_tells_staff_once(
    business, haircut, fake_google, mailoutbox, admin_client
):
    connect_business(business, fake_google)
    fake_google.fail("/calendar/v3/calendars", 403, reason="forbidden", times=2)
    booking = book(business, haircut)
    run_all_due()

    (mail,) = mailoutbox
    assert mail.subject.startswith(f"{business.name}: A booking is missing from the calendar")
    assert f"{BASE}/admin/bookings/booking/{booking.pk}/change/" in mail.body
    assert "Retry calendar sync now" in mail.body

    # Staff retry, Google refuses again: they know already; no second notice.
    admin_client.post(
        "/admin/bookings/booking/",
        {"action": "retry_calendar_sync", "_selected_action": [booking.pk]},
    )
    run_all_due()
    sync = CalendarEventSync.objects.get(booking=booking)
    assert sync.status == CalendarEventSync.Status.FAILED
    assert len(mailoutbox) == 1
    assert OutboxTask.objects.filter(kind=STAFF_SMS).count() == 1


def test_retries_running_out_tell_staff(business, haircut, fake_google, mailoutbox):
    connect_business(business, fake_google)
    fake_google.fail("/calendar/v3/calendars", 500, reason="backendError", times=10_000)
    booking = book(business, haircut)
    OutboxTask.objects.filter(kind="provider.after_booking").update(max_attempts=2)
    run_all_due()
    assert mailoutbox == []  # a retry may still work: nobody is bothered yet
    run_all_due(later=timedelta(hours=1))
    (mail,) = mailoutbox
    assert f"/admin/bookings/booking/{booking.pk}/change/" in mail.body
