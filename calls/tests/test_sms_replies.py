"""Texts customers send back: a signed Twilio Messaging webhook. C cancels (through the
booking desk's cancel, as a spoken cancel: the provider deletes the calendar event and the
cancellation text goes through the outbox), Y confirms, STOP/START opt out and
in, anything else is kept for staff. Forged requests are refused and store nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from bookings.admin_times import local_time
from bookings.models import Booking, OutboxTask
from bookings.outbox import run_due
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local, upcoming
from calls.sms.models import IncomingSms, SmsMessage, SmsOptOut
from calls.sms.reminders import queue_due_reminders
from integrations.google_calendar.models import CalendarEventSync

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
AUTH_TOKEN = "test-auth-token-for-texts"
CUSTOMER = "+15558670199"  # "From" in the fixture
PATH = "/sms/incoming/bright-cuts/"


def payload(**overrides: str) -> dict[str, str]:
    data = json.loads((FIXTURES / "incoming_sms.json").read_text())
    data = {key: value for key, value in data.items() if not key.startswith("_")}
    return data | overrides


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "https://rx.example.com"
    settings.OUTBOX_RUN_IN_PROCESS = False
    settings.SMS_BACKEND = "console"


@pytest.fixture
def text(client, settings):
    """A customer's text as Twilio posts it: form-encoded, signed over the public URL."""
    sid = iter(range(1, 1000))

    def post(body: str, **overrides: str):
        data = payload(Body=body, MessageSid=f"SM{next(sid):032x}") | overrides
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            settings.PUBLIC_BASE_URL + PATH, data
        )
        return client.post(PATH, data, HTTP_X_TWILIO_SIGNATURE=signature)

    return post


@pytest.fixture
def salon():
    business = BusinessFactory(slug="bright-cuts", name="Bright Cuts", phone_number="+15558670100")
    ServiceFactory(business=business, name="Beard trim", duration_minutes=15)
    return business


def book(salon, day_offset: int = 3, hour: int = 10, **fields) -> Booking:
    start = local(salon, upcoming(salon, 1, at_least_days=day_offset), hour)
    return BookingFactory(
        service=salon.services.get(), start=start, **{"customer_phone": CUSTOMER, **fields}
    )


def reply_of(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return response.content.decode()


def test_c_cancels_the_booking_as_a_spoken_cancel_does(salon, text):
    booking = book(salon, provider="google_calendar", customer_name="Dana")
    # Its calendar event, as the Google provider's event sync records it.
    CalendarEventSync.objects.create(
        booking=booking, calendar_id="primary", event_id="abc123", status="synced"
    )

    reply = reply_of(text("C"))

    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert "<Message>" not in reply  # the outbox's cancellation text is the answer, once
    [incoming] = IncomingSms.objects.all()
    assert (incoming.action, incoming.booking_id, incoming.body) == ("cancelled", booking.pk, "C")
    # The desk's follow-ups, queued with the cancellation: the provider's clean-up (its
    # calendar event is deleted) and the customer's cancellation text.
    queued = OutboxTask.objects.filter(payload__booking_id=booking.pk)
    assert set(queued.values_list("kind", flat=True)) == {
        "provider.after_cancel",
        "sms.booking_change",
    }
    run_due()
    [sms] = SmsMessage.objects.filter(booking=booking)
    assert (sms.kind, sms.status, sms.to) == ("booking_cancelled", "sent", CUSTOMER)
    assert sms.body.startswith("Hi Dana, your beard trim at Bright Cuts on ")
    assert "is cancelled. To book again, call +15558670100." in sms.body


@pytest.mark.parametrize("body", ["cancel", "Cancel.", " c "])
def test_cancel_spelled_as_people_text_it(salon, text, body):
    booking = book(salon)
    text(body)
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_y_confirms_and_changes_nothing_else(salon, text):
    booking = book(salon)
    reply = reply_of(text("Y"))
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    assert "<Message>Thanks, see you on" in reply
    assert IncomingSms.objects.get().action == "confirmed"


def test_y_is_shown_to_staff_on_the_schedule_and_the_booking(salon, text, admin_client):
    booking = book(salon, customer_name="Dana")
    other = book(salon, hour=14, customer_phone="+15558670142", customer_name="Sam")
    schedule = reverse("admin:bookings_business_schedule", args=[salon.pk])
    day = {"date": booking.start.astimezone(salon.tz).date().isoformat()}
    assert 'class="schedule-texted"' not in admin_client.get(schedule, day).content.decode()

    text("Y")

    booking.refresh_from_db()
    assert booking.confirmed_by_text_at is not None
    html = admin_client.get(schedule, day).content.decode()
    assert html.count('<span class="schedule-texted" title="Confirmed by text">') == 1
    assert "Beard trim for Dana, 10:00-10:15 (Confirmed, confirmed by text)" in html
    assert "Beard trim for Sam, 14:00-14:15 (Confirmed)" in html
    listing = admin_client.get(reverse("admin:bookings_booking_changelist")).content.decode()
    assert listing.count('<span class="confirmed-by-text"') == 1
    page = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    received = local_time(booking.confirmed_by_text_at, salon.tz)
    assert f"Yes, {received}" in page.content.decode()
    page = admin_client.get(reverse("admin:bookings_booking_change", args=[other.pk]))
    assert "Confirmed by text:" in page.content.decode()


@pytest.mark.parametrize(
    "body", ["Can I come at 5 instead?", "cancel my 3pm and book 5pm", "yes but running late", ""]
)
def test_anything_else_is_kept_for_staff_and_touches_no_booking(salon, text, body):
    booking = book(salon)
    reply = reply_of(text(body))
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    assert "<Message>" not in reply
    incoming = IncomingSms.objects.get()
    assert (incoming.action, incoming.body, incoming.booking_id) == ("message", body, None)


def test_c_answers_the_booking_we_last_texted_about(salon, text):
    first = book(salon, day_offset=3)
    second = book(salon, day_offset=10)
    SmsMessage.objects.create(
        booking=second, kind="booking_reminder", to=CUSTOMER, sender="+15558670100",
        body="reminder", status="sent", sent_at=timezone.now(),
    )  # fmt: skip
    text("C")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("confirmed", "cancelled")


def test_c_with_two_bookings_and_no_text_about_either_cancels_neither(salon, text):
    first, second = book(salon, day_offset=3), book(salon, day_offset=10)
    reply = reply_of(text("C"))
    assert "couldn't tell which appointment" in reply
    for booking in (first, second):
        booking.refresh_from_db()
        assert booking.status == "confirmed"
    assert IncomingSms.objects.get().action == "message"


def test_c_from_a_number_without_bookings_cancels_nothing(salon, text):
    other = book(salon)
    Booking.objects.filter(pk=other.pk).update(customer_phone="+15558670111")
    text("C")
    other.refresh_from_db()
    assert other.status == "confirmed"


def test_a_retried_webhook_acts_once(salon, text):
    booking = book(salon)
    first = text("Y", MessageSid="SM" + "a" * 32)
    again = text("Y", MessageSid="SM" + "a" * 32)
    assert "<Message>" in reply_of(first) and "<Message>" not in reply_of(again)
    assert IncomingSms.objects.count() == 1
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_stop_opts_out_of_reminders_and_start_opts_back_in(salon, text):
    booking = book(salon)
    Booking.objects.filter(pk=booking.pk).update(created_at=timezone.now() - timedelta(days=9))
    assert reply_of(text("STOP")).count("<Message>") == 0  # Twilio sends its own answer
    assert SmsOptOut.objects.filter(business=salon, phone=CUSTOMER).exists()

    text("START")
    assert not SmsOptOut.objects.exists()
    assert [i.action for i in IncomingSms.objects.order_by("received_at")] == [
        "opted_out",
        "opted_in",
    ]
    assert queue_due_reminders(booking.start - timedelta(hours=1)) == 1


def test_twilio_advanced_opt_out_is_honoured_even_for_cancel(salon, text):
    booking = book(salon)
    text("cancel", OptOutType="STOP")
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert SmsOptOut.objects.filter(phone=CUSTOMER).exists()


def test_a_forged_text_is_refused_and_stores_nothing(salon, client):
    booking = book(salon)
    data = payload(Body="C")
    forged = RequestValidator("not-our-token").compute_signature(
        "https://rx.example.com" + PATH, data
    )
    for headers in ({"HTTP_X_TWILIO_SIGNATURE": forged}, {}):
        response = client.post(PATH, data, **headers)
        assert response.status_code == 403
    # Signed for other words than were posted.
    signed = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://rx.example.com" + PATH, payload(Body="Y")
    )
    assert client.post(PATH, data, HTTP_X_TWILIO_SIGNATURE=signed).status_code == 403
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    assert not IncomingSms.objects.exists() and not SmsOptOut.objects.exists()


def test_a_text_to_an_unknown_business_is_answered_and_not_stored(text, client, settings):
    response = text("C")
    assert reply_of(response).count("<Message>") == 0
    assert not IncomingSms.objects.exists()
