"""Reminder texts: once, through the outbox and the real twilio client against the loopback
fake, `reminder_hours` before each booking; none for late bookings, cancelled ones or
numbers that texted STOP; a moved booking is reminded at its new time."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from bookings import outbox
from bookings.models import Booking
from bookings.services import cancel_booking, move_booking
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local, upcoming
from calls.sms.messages import booking_reminder
from calls.sms.models import SmsMessage, SmsOptOut
from calls.sms.reminders import queue_due_reminders
from calls.tests.fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "fake-auth-token-for-reminders"


@pytest.fixture(autouse=True)
def twilio(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as fake:
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
        settings.TWILIO_API_BASE_URL = fake.base_url
        settings.TWILIO_HTTP_TIMEOUT = 3
        yield fake


@pytest.fixture
def salon():
    business = BusinessFactory(name="Maple Salon", phone_number="+15555550100")
    ServiceFactory(business=business, name="Beard trim", duration_minutes=15)
    return business


def booked(salon, start: datetime, *, booked_at: datetime | None = None, **fields) -> Booking:
    booking = BookingFactory(service=salon.services.get(), start=start, **fields)
    # Made well before its reminder time unless the test says otherwise.
    Booking.objects.filter(pk=booking.pk).update(
        created_at=booked_at or timezone.now() - timedelta(days=7)
    )
    booking.refresh_from_db()
    return booking


def sweep_and_run(at: datetime) -> int:
    """What run_worker does at `at`: queue due reminders, then run the due outbox tasks."""
    queued = queue_due_reminders(at)
    outbox.run_due(now=max(at, timezone.now()))
    return queued


def reminders() -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(kind=SmsMessage.Kind.BOOKING_REMINDER))


def test_reminder_is_texted_once_a_day_ahead_from_the_business_number(salon, twilio):
    start = local(salon, upcoming(salon, 1, at_least_days=3), 15)
    booking = booked(salon, start, customer_name="Maria", customer_phone="+15555550123")

    assert sweep_and_run(start - timedelta(hours=25)) == 0  # not yet
    assert twilio.messages == []
    assert sweep_and_run(start - timedelta(hours=23, minutes=59)) == 1
    sweep_and_run(start - timedelta(hours=23, minutes=58))  # the next sweeps change nothing
    sweep_and_run(start - timedelta(hours=20))

    [message] = twilio.messages
    assert (message["to"], message["from"]) == ("+15555550123", "+15555550100")
    assert message["body"] == booking_reminder(booking)
    [sms] = reminders()
    assert (sms.status, sms.provider_sid) == ("sent", message["sid"])


def test_reminder_words():
    salon = BusinessFactory(name="Maple Salon")
    service = ServiceFactory(business=salon, name="Beard trim")
    start = datetime(2026, 12, 8, 15, 0, tzinfo=salon.tz)
    text = booking_reminder(BookingFactory(service=service, start=start, customer_name="Maria"))
    assert text == (
        "Hi Maria, a reminder: your beard trim at Maple Salon is on Tue, Dec 8 at 3:00 PM. "
        "Reply Y to confirm or C to cancel."
    )
    assert len(text) <= 160 and text.isascii()


def test_lead_time_is_set_per_business(salon, twilio):
    salon.reminder_hours = 2
    salon.save()
    start = local(salon, upcoming(salon, 2, at_least_days=3), 11)
    booked(salon, start)

    assert sweep_and_run(start - timedelta(hours=23)) == 0
    assert sweep_and_run(start - timedelta(hours=1, minutes=59)) == 1
    assert len(twilio.messages) == 1


def test_no_reminders_when_the_business_sets_zero_hours(salon, twilio):
    salon.reminder_hours = 0
    salon.save()
    start = local(salon, upcoming(salon, 2, at_least_days=3), 11)
    booked(salon, start)
    assert sweep_and_run(start - timedelta(hours=1)) == 0
    assert twilio.messages == []


def test_a_booking_made_inside_the_window_gets_none(salon, twilio):
    start = local(salon, upcoming(salon, 3, at_least_days=3), 10)
    booked(salon, start, booked_at=start - timedelta(hours=5))
    for hours_before in (4, 2, 1):
        sweep_and_run(start - timedelta(hours=hours_before))
    assert twilio.messages == [] and reminders() == []


def test_a_cancelled_booking_gets_none(salon, twilio):
    start = local(salon, upcoming(salon, 1, at_least_days=3), 10)
    cancel_booking(booking=booked(salon, start))
    assert sweep_and_run(start - timedelta(hours=12)) == 0
    assert twilio.messages == []


def test_cancelled_after_its_reminder_was_queued_is_not_texted(salon, twilio):
    start = local(salon, upcoming(salon, 1, at_least_days=3), 10)
    booking = booked(salon, start)
    assert queue_due_reminders(start - timedelta(hours=12)) == 1
    cancel_booking(booking=booking)
    outbox.run_due()
    assert twilio.messages == []
    [sms] = reminders()
    assert (sms.status, sms.error) == ("failed", "Not sent: the booking was cancelled.")


def test_a_moved_booking_is_reminded_at_its_new_time_only(salon, twilio):
    first_day = upcoming(salon, 1, at_least_days=3)
    old = booked(salon, local(salon, first_day, 10))
    later_day = first_day + timedelta(days=7)
    moved = move_booking(booking=old, start=local(salon, later_day, 14)).booking
    assert moved is not None

    assert sweep_and_run(local(salon, first_day, 9)) == 0  # the old time's reminder: none
    new_start = local(salon, later_day, 14)
    assert sweep_and_run(new_start - timedelta(hours=23)) == 1
    [message] = twilio.messages
    assert message["body"] == booking_reminder(moved)
    assert later_day.strftime("%b") in message["body"]
    assert [sms.booking_id for sms in reminders()] == [moved.pk]


def test_staff_changing_the_time_reminds_at_the_new_time(salon, twilio):
    start = local(salon, upcoming(salon, 1, at_least_days=3), 10)
    booking = booked(salon, start)
    queue_due_reminders(start - timedelta(hours=20))  # queued for the old time...
    new_start = start + timedelta(days=2)
    Booking.objects.filter(pk=booking.pk).update(
        start=new_start, end=new_start + booking.service.duration
    )
    outbox.run_due()  # ...and dropped: it is no longer that time
    assert twilio.messages == []
    assert sweep_and_run(new_start - timedelta(hours=23)) == 1
    assert len(twilio.messages) == 1


def test_a_number_that_texted_stop_gets_no_reminder(salon, twilio):
    start = local(salon, upcoming(salon, 4, at_least_days=3), 10)
    booked(salon, start, customer_phone="+15555550177")
    SmsOptOut.objects.create(business=salon, phone="+15555550177", opted_out_at=timezone.now())

    sweep_and_run(start - timedelta(hours=10))

    assert twilio.requests == []  # not even tried
    [sms] = reminders()
    assert (sms.status, sms.error) == ("failed", "Not sent: the customer texted STOP.")


def test_run_worker_queues_and_sends_due_reminders(salon, twilio):
    start = timezone.now() + timedelta(hours=3)
    salon.reminder_hours = 4
    salon.save()
    booked(salon, start)
    out = StringIO()
    call_command("run_worker", "--once", stdout=out)
    assert len(twilio.messages) == 1
    assert "ran 1 task" in out.getvalue()
