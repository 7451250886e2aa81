"""Booking confirmations by text: through the real twilio client against a loopback fake."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from django.forms.models import model_to_dict
from django.utils import timezone

import calls.sms.tasks  # noqa: F401  (registers the task kind, as calls' ready() does)
from bookings import outbox
from bookings.models import Booking, OutboxTask
from bookings.providers.base import BookingContext
from bookings.providers.native import NativeBookingProvider
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from calls.confirmations import after_booked
from calls.sms.backends import console_outbox
from calls.sms.messages import booking_confirmation
from calls.sms.models import SmsMessage
from calls.sms.tasks import enqueue_booking_confirmation
from calls.tests.fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "fake-auth-token-that-must-never-be-logged"


@pytest.fixture(autouse=True)
def quiet_outbox(settings):
    # Tests run the outbox themselves unless they are about the in-process nudge.
    settings.OUTBOX_RUN_IN_PROCESS = False
    settings.SMS_BACKEND = "console"


@pytest.fixture
def twilio(settings):
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as fake:
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
        settings.TWILIO_API_BASE_URL = fake.base_url
        settings.TWILIO_HTTP_TIMEOUT = 3
        yield fake


@pytest.fixture
def booking():
    business = BusinessFactory(
        name="Maple Salon", timezone="America/New_York", phone_number="+15555550100"
    )
    haircut = ServiceFactory(business=business, name="Haircut", duration_minutes=30)
    start = datetime(2026, 11, 24, 15, 0, tzinfo=business.tz)
    return BookingFactory(
        service=haircut, start=start, customer_name="Maria", customer_phone="+15555550123"
    )


def later(**delta) -> datetime:
    return timezone.now() + timedelta(**delta)


def confirmation(booking: Booking) -> SmsMessage:
    return SmsMessage.objects.get(booking=booking, kind="booking_confirmation")


def requests_made(fake: FakeTwilio, method: str) -> int:
    return sum(1 for r in fake.requests if r.method == method)


def send_confirmation(booking: Booking, *, now: datetime | None = None) -> OutboxTask:
    task = enqueue_booking_confirmation(booking_id=booking.pk)
    outbox.run_due(now=now)
    task.refresh_from_db()
    return task


# -- The text ----------------------------------------------------------------------------------


def test_confirmation_names_business_service_and_local_time(booking):
    assert booking_confirmation(booking) == (
        "Hi Maria, your haircut at Maple Salon is booked for Tue, Nov 24 at 3:00 PM. "
        "To change it, call +15555550100."
    )


@pytest.mark.parametrize(
    ("name", "in_text"),
    [("Beard trim", "beard trim"), ("Hair Colouring", "hair colouring"), ("OPI gel", "OPI gel")],
)
def test_confirmation_writes_the_service_as_running_text(booking, name, in_text):
    booking.service.name = name
    assert f"Hi Maria, your {in_text} at Maple Salon" in booking_confirmation(booking)


def test_confirmation_time_is_the_business_local_time_not_utc(booking):
    booking.business.timezone = "America/Los_Angeles"
    booking.start = datetime(2026, 7, 4, 16, 5, tzinfo=UTC)  # 9:05 AM in Los Angeles (PDT)

    assert "Sat, Jul 4 at 9:05 AM" in booking_confirmation(booking)


def test_confirmation_fits_one_plain_sms_segment(booking):
    text = booking_confirmation(booking)
    assert len(text) <= 160
    assert text.isascii()


# -- Sending through Twilio ----------------------------------------------------------------------


def test_confirmation_is_texted_once_from_the_business_number(booking, twilio):
    task = send_confirmation(booking)

    [message] = twilio.messages
    assert message["to"] == "+15555550123"
    assert message["from"] == "+15555550100"
    assert message["body"] == booking_confirmation(booking)
    sms = confirmation(booking)
    assert (sms.status, sms.provider_sid, sms.attempts) == ("sent", message["sid"], 1)
    assert sms.provider_sid.startswith("SM")
    assert sms.sent_at is not None
    assert task.status == "done"
    assert all(request.authorized for request in twilio.requests)

    send_confirmation(booking, now=later(hours=1))  # enqueued again, e.g. a retried webhook
    assert len(twilio.messages) == 1


def test_ambiguous_error_after_twilio_kept_the_message_is_not_sent_twice(booking, twilio):
    twilio.fail_next(500, after_storing=True)

    task = send_confirmation(booking)
    assert task.status == "pending"
    assert confirmation(booking).status == "unknown"
    assert "500" in confirmation(booking).error

    task = send_confirmation(booking, now=later(minutes=1))
    [message] = twilio.messages
    sms = confirmation(booking)
    assert (sms.status, sms.provider_sid) == ("sent", message["sid"])
    assert task.status == "done"
    assert requests_made(twilio, "POST") == 1
    assert requests_made(twilio, "GET") == 1


def test_clean_server_error_is_sent_again_after_looking(booking, twilio):
    twilio.fail_next(503)

    send_confirmation(booking)
    assert twilio.messages == []

    task = send_confirmation(booking, now=later(minutes=1))
    [message] = twilio.messages
    assert confirmation(booking).provider_sid == message["sid"]
    assert confirmation(booking).attempts == 2
    assert task.status == "done"
    assert (requests_made(twilio, "GET"), requests_made(twilio, "POST")) == (1, 2)


def test_an_answer_that_comes_too_late_is_looked_up_not_resent(booking, twilio, settings):
    settings.TWILIO_HTTP_TIMEOUT = 0.5
    twilio.answer_slowly(2)

    send_confirmation(booking)
    sms = confirmation(booking)
    assert sms.status == "unknown"
    assert "Timeout" in sms.error

    send_confirmation(booking, now=later(minutes=1))
    [message] = twilio.messages
    assert confirmation(booking).provider_sid == message["sid"]
    assert requests_made(twilio, "POST") == 1


def test_invalid_number_fails_for_good_and_leaves_the_booking_alone(booking, twilio):
    before = model_to_dict(booking)
    updated_at = booking.updated_at
    twilio.reject_next(21211)

    task = send_confirmation(booking)
    send_confirmation(booking, now=later(hours=2))

    sms = confirmation(booking)
    assert sms.status == "failed"
    assert "21211" in sms.error
    assert "not a valid phone number" in sms.error
    assert task.status == "failed"
    assert twilio.messages == []
    assert requests_made(twilio, "POST") == 1
    booking.refresh_from_db()
    assert model_to_dict(booking) == before
    assert booking.updated_at == updated_at
    assert booking.status == Booking.Status.CONFIRMED


def test_wrong_credentials_are_retried_not_dropped(booking, twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"

    task = send_confirmation(booking)

    assert task.status == "pending"
    assert confirmation(booking).status == "pending"
    assert "401" in confirmation(booking).error
    assert twilio.messages == []


def test_the_auth_token_never_reaches_logs_or_errors(booking, twilio, caplog):
    caplog.set_level(logging.DEBUG)
    twilio.fail_next(500, after_storing=True)

    send_confirmation(booking)
    send_confirmation(booking, now=later(minutes=1))

    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    recorded = [
        caplog.text,
        confirmation(booking).error,
        *OutboxTask.objects.values_list("last_error", flat=True),
    ]
    for text in recorded:
        assert AUTH_TOKEN not in text
        assert basic not in text


def test_messaging_service_sends_when_the_business_has_no_number(booking, twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "b" * 32
    booking.business.phone_number = ""
    booking.business.save(update_fields=["phone_number"])

    send_confirmation(booking)

    [message] = twilio.messages
    assert message["messaging_service_sid"] == "MG" + "b" * 32
    assert message["from"] is None


def test_a_booking_cancelled_before_the_text_is_not_texted(booking, twilio):
    booking.status = Booking.Status.CANCELLED
    booking.save(update_fields=["status"])

    task = send_confirmation(booking)

    assert twilio.messages == []
    assert task.status == "done"
    assert confirmation(booking).status == "failed"


# -- The console backend ---------------------------------------------------------------------


def test_console_backend_logs_and_keeps_the_text(booking, caplog):
    console_outbox.clear()
    caplog.set_level(logging.INFO, logger="calls.sms.backends")

    task = send_confirmation(booking)

    [sent] = console_outbox
    assert (sent.to, sent.sender, sent.body) == (
        "+15555550123",
        "+15555550100",
        booking_confirmation(booking),
    )
    assert booking_confirmation(booking) in caplog.text
    assert confirmation(booking).provider_sid == sent.sid
    assert task.status == "done"


# -- after_booked: what the call does once the booking is made --------------------------------


def booking_context(booking: Booking) -> BookingContext:
    return replace(BookingContext.from_booking(booking), call_sid="CA" + "1" * 32)


async def call_after_booked(booking: Booking) -> None:
    await after_booked(
        provider=NativeBookingProvider(booking.business),
        context=booking_context(booking),
        booking_id=booking.pk,
    )


async def in_db(query):
    """Run a query from an async test the way the product does (database_sync_to_async):
    the connection goes back to the pool afterwards. Django's async ORM (aget, async for)
    would keep one open in asgiref's thread, and Postgres then refuses to drop the test
    database ("being accessed by other users")."""
    return await database_sync_to_async(query)()


@pytest.mark.django_db(transaction=True)
async def test_after_booked_queues_the_text_and_the_provider_work_once(booking):
    await call_after_booked(booking)
    await call_after_booked(booking)  # e.g. the engine retried its turn

    keys = await in_db(lambda: list(OutboxTask.objects.values_list("dedupe_key", flat=True)))
    assert sorted(keys) == [
        f"provider.after_booking:booking:{booking.pk}",
        f"sms:booking:{booking.pk}",
    ]


@pytest.mark.django_db(transaction=True)
async def test_after_booked_returns_before_the_text_goes_out(booking, twilio, settings):
    settings.OUTBOX_RUN_IN_PROCESS = True
    twilio.answer_slowly(1.5)

    started = time.monotonic()
    await call_after_booked(booking)
    assert time.monotonic() - started < 1.0

    assert await asyncio.to_thread(outbox.wait_for_nudges, 15)
    statuses = await in_db(lambda: list(OutboxTask.objects.values_list("status", flat=True)))
    assert statuses == ["done", "done"]
    sms = await in_db(lambda: SmsMessage.objects.get(booking_id=booking.pk))
    assert sms.status == "sent"
    assert len(twilio.messages) == 1


@pytest.mark.django_db(transaction=True)
async def test_a_failed_text_never_changes_the_booking(booking, twilio, settings):
    settings.OUTBOX_RUN_IN_PROCESS = True
    twilio.reject_next(21211)
    before = model_to_dict(booking)

    await call_after_booked(booking)
    assert await asyncio.to_thread(outbox.wait_for_nudges, 15)

    sms = await in_db(lambda: SmsMessage.objects.get(booking_id=booking.pk))
    assert sms.status == "failed"
    after = await in_db(lambda: Booking.objects.get(pk=booking.pk))
    assert model_to_dict(after) == before
    provider_task = await in_db(lambda: OutboxTask.objects.get(kind="provider.after_booking"))
    assert provider_task.status == "done"
