"""Durable event sync: every confirmed booking gets exactly one event, whatever Google does
in between; cancelling deletes it; staff see what failed and can retry from admin."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.contrib.admin.sites import site
from django.test import override_settings
from django.utils import timezone

from bookings.models import Booking, OutboxTask
from bookings.outbox import run_due
from bookings.services import book_slot, cancel_booking, move_booking
from bookings.tasks import after_booking_dedupe_key, enqueue_provider_after_booking
from bookings.tests.factories import BusinessFactory, ServiceFactory
from bookings.tests.page_forms import form_values
from bookings.tests.timeutil import local, upcoming
from integrations.google_calendar import client
from integrations.google_calendar.client import event_id_for
from integrations.google_calendar.models import CalendarEventSync, GoogleCalendarConnection
from integrations.google_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db(transaction=True)

SyncStatus = CalendarEventSync.Status


@pytest.fixture(autouse=True)
def run_tasks_by_hand(settings, monkeypatch):
    # The tests play the worker: tasks run when the test says so, in this thread.
    settings.OUTBOX_RUN_IN_PROCESS = False
    monkeypatch.setattr(client, "BACKOFF_BASE", 0)  # the client's own retries, without pauses


@pytest.fixture
def business(db):
    return BusinessFactory(booking_provider="google_calendar", timezone="Europe/London")


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=45)


@pytest.fixture
def connection(business, fake_google):
    return connect_business(business, fake_google)


def book(business, service, hour=15) -> Booking:
    """A booking as the call makes it: the provider's sync status, the follow-up queued."""
    outcome = book_slot(
        business=business,
        service=service,
        start=local(business, upcoming(business, 1), hour),
        customer_name="Maria Lopez",
        customer_phone="+447700900123",
        provider="google_calendar",
    )
    assert outcome.booking is not None
    return outcome.booking  # its event's task was queued in the same transaction


def run_all_due(*, later: timedelta = timedelta(0)) -> None:
    run_due(now=timezone.now() + later)


def sync_of(booking: Booking) -> CalendarEventSync:
    return CalendarEventSync.objects.get(booking=booking)


def task_for(booking: Booking) -> OutboxTask:
    return OutboxTask.objects.get(dedupe_key=after_booking_dedupe_key(booking.pk))


def test_a_booking_gets_its_event_with_our_id(business, haircut, connection, fake_google):
    booking = book(business, haircut)

    run_all_due()

    booking.refresh_from_db()
    [event] = fake_google.events("primary")
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert sync_of(booking).event_id == event["id"] == event_id_for(booking)
    assert sync_of(booking).calendar_id == connection.write_calendar_id
    assert event["start"]["timeZone"] == "Europe/London"
    assert "Haircut" in event["summary"] and "Maria Lopez" in event["summary"]
    assert "+447700900123" in event["description"]


def test_events_go_to_the_chosen_write_calendar(business, haircut, connection, fake_google):
    fake_google.add_calendar("front-desk@example.com", "Front desk")
    connection.write_calendar_id = "front-desk@example.com"
    connection.save()
    booking = book(business, haircut)

    run_all_due()

    assert [e["id"] for e in fake_google.events("front-desk@example.com")] == [
        event_id_for(booking)
    ]
    assert fake_google.events("primary") == []


def test_a_retried_insert_never_duplicates(business, haircut, connection, fake_google):
    booking = book(business, haircut)
    run_all_due()
    # As if the first answer had been lost: the booking still looks unsynced.
    CalendarEventSync.objects.filter(booking=booking).update(status=SyncStatus.PENDING, event_id="")
    OutboxTask.objects.filter(pk=task_for(booking).pk).update(
        status=OutboxTask.Status.PENDING, next_attempt_at=timezone.now()
    )

    run_all_due()

    booking.refresh_from_db()
    assert len(fake_google.events("primary")) == 1
    assert sync_of(booking).status == SyncStatus.SYNCED


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "backendError"), (503, "backendError"), (429, "rateLimitExceeded")],
)
def test_the_event_lands_once_google_recovers(
    business, haircut, connection, fake_google, status, reason
):
    fake_google.fail("/calendar/v3/calendars", status, reason=reason, times=1000)
    booking = book(business, haircut)

    run_all_due()

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.PENDING
    assert sync_of(booking).error
    assert task_for(booking).status == OutboxTask.Status.PENDING
    assert fake_google.events("primary") == []

    fake_google.clear_faults()
    run_all_due(later=timedelta(hours=1))

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert len(fake_google.events("primary")) == 1


def test_a_timeout_is_retried_later(business, haircut, connection, fake_google, settings):
    settings.GOOGLE_HTTP_TIMEOUT = 0.5
    settings.GOOGLE_NUM_RETRIES = 0
    fake_google.hang("/calendar/v3/calendars", times=1)
    booking = book(business, haircut)

    run_all_due()
    run_all_due(later=timedelta(hours=1))

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.SYNCED
    # Google may have stored the first, timed-out insert: still exactly one event.
    assert len(fake_google.events("primary")) == 1


def test_a_rate_limit_is_honoured(business, haircut, connection, fake_google, settings):
    settings.GOOGLE_NUM_RETRIES = 0
    fake_google.fail("/calendar/v3/calendars", 429, reason="rateLimitExceeded", retry_after=120)
    booking = book(business, haircut)

    before = timezone.now()
    run_all_due()

    task = task_for(booking)
    assert task.status == OutboxTask.Status.PENDING
    assert task.next_attempt_at >= before + timedelta(seconds=119)


def test_a_revoked_token_waits_for_a_reconnect_then_lands_once(
    business, haircut, connection, fake_google
):
    fake_google.expire_access_tokens()
    fake_google.invalidate_refresh_tokens()
    booking = book(business, haircut)

    run_all_due()

    connection.refresh_from_db()
    booking.refresh_from_db()
    assert connection.status == GoogleCalendarConnection.Status.NEEDS_RECONNECT
    assert sync_of(booking).status == SyncStatus.PENDING
    assert fake_google.events("primary") == []

    connect_business(business, fake_google)  # staff reconnect: waiting events go now
    run_all_due()

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert len(fake_google.events("primary")) == 1


def test_a_permanent_refusal_fails_visibly_and_staff_can_retry(
    business, haircut, connection, fake_google, admin_client
):
    fake_google.fail("/calendar/v3/calendars", 403, reason="forbidden", times=1)
    booking = book(business, haircut)

    run_all_due()

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.FAILED
    assert sync_of(booking).error
    assert task_for(booking).status == OutboxTask.Status.FAILED

    response = admin_client.post(
        "/admin/bookings/booking/",
        {"action": "retry_calendar_sync", "_selected_action": [booking.pk]},
    )
    assert response.status_code == 302
    run_all_due()

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert len(fake_google.events("primary")) == 1


def test_the_booking_says_failed_when_the_retries_run_out(
    business, haircut, connection, fake_google
):
    fake_google.fail("/calendar/v3/calendars", 500, reason="backendError", times=10_000)
    booking = book(business, haircut)
    OutboxTask.objects.filter(pk=task_for(booking).pk).update(max_attempts=2)

    run_all_due()
    run_all_due(later=timedelta(hours=1))

    booking.refresh_from_db()
    assert task_for(booking).status == OutboxTask.Status.FAILED
    assert sync_of(booking).status == SyncStatus.FAILED


def test_not_connected_waits_and_says_why(business, haircut, fake_google):
    booking = book(business, haircut)

    run_all_due()

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.PENDING
    assert sync_of(booking).error == (
        "Google Calendar is not connected; waiting for it to be connected."
    )
    assert task_for(booking).status == OutboxTask.Status.PENDING


def test_cancelling_deletes_the_event(business, haircut, connection, fake_google):
    booking = book(business, haircut)
    run_all_due()
    assert len(fake_google.events("primary")) == 1

    cancel_booking(booking=booking)
    run_all_due()

    booking.refresh_from_db()
    assert fake_google.events("primary") == []
    assert sync_of(booking).event_id == ""


def test_cancelling_before_the_event_was_written_leaves_nothing(
    business, haircut, connection, fake_google
):
    booking = book(business, haircut)
    cancel_booking(booking=booking)

    run_all_due()

    assert fake_google.events("primary") == []


def test_admin_cancel_action_deletes_the_event(
    business, haircut, connection, fake_google, admin_client
):
    booking = book(business, haircut)
    run_all_due()

    admin_client.post(
        "/admin/bookings/booking/",
        {"action": "cancel_selected", "_selected_action": [booking.pk]},
    )
    run_all_due()

    assert fake_google.events("primary") == []


def test_moving_a_booking_moves_its_event(business, haircut, connection, fake_google):
    booking = book(business, haircut, hour=11)
    run_all_due()

    outcome = move_booking(booking=booking, start=local(business, upcoming(business, 2), 14))
    enqueue_provider_after_booking(booking_id=outcome.booking.pk, provider="google_calendar")
    run_all_due()

    [event] = fake_google.events("primary")
    assert event["id"] == event_id_for(outcome.booking)


def test_admin_shows_sync_status_but_never_a_token(
    business, haircut, connection, fake_google, admin_client
):
    booking = book(business, haircut)
    run_all_due()

    page = admin_client.get(f"/admin/bookings/booking/{booking.pk}/change/").content.decode()

    connection.refresh_from_db()
    assert "Synced" in page
    assert connection.refresh_token not in page and connection.access_token not in page
    assert site.is_registered(Booking)
    # The bookings list shows the sync state and filters on it.
    listing = "/admin/bookings/booking/"
    assert "Synced" in admin_client.get(listing).content.decode()
    synced = admin_client.get(listing + "?calendar_event_sync__status__exact=synced")
    assert "Maria Lopez" in synced.content.decode()
    failed = admin_client.get(listing + "?calendar_event_sync__status__exact=failed")
    assert "Maria Lopez" not in failed.content.decode()


def test_a_booking_staff_make_in_admin_gets_its_event_and_loses_it_when_cancelled(
    business, haircut, connection, fake_google, admin_client
):
    start = local(business, upcoming(business, 3), 10).astimezone(UTC)
    response = admin_client.post(
        "/admin/bookings/booking/add/",
        {
            "business": business.pk,
            "service": haircut.pk,
            "customer_name": "Walk In",
            "customer_phone": "+447700900555",
            "start_0": start.strftime("%Y-%m-%d"),
            "start_1": start.strftime("%H:%M:%S"),
            "status": "confirmed",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    booking = Booking.objects.get(customer_name="Walk In")
    assert booking.provider == "google_calendar"

    run_all_due()

    booking.refresh_from_db()
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert [e["id"] for e in fake_google.events("primary")] == [event_id_for(booking)]

    page = admin_client.get(f"/admin/bookings/booking/{booking.pk}/change/")
    data = form_values(page.content.decode()) | {"status": "cancelled"}
    assert (
        admin_client.post(f"/admin/bookings/booking/{booking.pk}/change/", data).status_code == 302
    )
    run_all_due()

    assert fake_google.events("primary") == []


def test_an_event_written_as_the_booking_is_cancelled_is_removed(
    business, haircut, connection, fake_google, monkeypatch
):
    book(business, haircut)
    insert = client.CalendarClient.insert_event

    def cancelled_meanwhile(self, booking):
        event_id = insert(self, booking)
        # The caller cancels while Google is still answering; the cancellation's own
        # clean-up has already run and found no event. Then Google stumbles on our delete.
        Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED)
        fake_google.fail("/calendar/v3/calendars", 500, reason="backendError", method="DELETE")
        return event_id

    monkeypatch.setattr(client.CalendarClient, "insert_event", cancelled_meanwhile)
    with override_settings(GOOGLE_NUM_RETRIES=0):
        run_all_due()
    monkeypatch.setattr(client.CalendarClient, "insert_event", insert)
    assert len(fake_google.events("primary")) == 1

    run_all_due(later=timedelta(hours=1))

    assert fake_google.events("primary") == []


def test_staff_moving_a_booking_in_admin_moves_its_event(
    business, haircut, connection, fake_google, admin_client
):
    booking = book(business, haircut, hour=11)
    run_all_due()
    url = f"/admin/bookings/booking/{booking.pk}/change/"
    later = local(business, upcoming(business, 1), 16)  # shown in the business's zone

    data = form_values(admin_client.get(url).content.decode()) | {
        "start_0": later.strftime("%Y-%m-%d"),
        "start_1": later.strftime("%H:%M:%S"),
    }
    assert admin_client.post(url, data).status_code == 302
    run_all_due()

    booking.refresh_from_db()
    [event] = fake_google.events("primary")
    assert booking.start == later
    assert event["id"] == sync_of(booking).event_id
    assert event["start"]["dateTime"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    assert sync_of(booking).status == SyncStatus.SYNCED


def test_a_cancelled_booking_cannot_be_revived_in_admin(business, haircut, admin_client):
    booking = book(business, haircut)
    cancel_booking(booking=booking)
    url = f"/admin/bookings/booking/{booking.pk}/change/"

    data = form_values(admin_client.get(url).content.decode()) | {"status": "confirmed"}
    page = admin_client.post(url, data).content.decode()

    booking.refresh_from_db()
    assert "stays cancelled" in page
    assert booking.status == Booking.Status.CANCELLED
