"""Durable Outlook event sync: every confirmed booking gets exactly one event whatever Graph
does in between (a retried create carries the same transactionId); staff moving a booking
moves its event; cancelling deletes it; staff see what failed and can retry from admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bookings.models import Booking, OutboxTask
from bookings.outbox import run_due
from bookings.services import book_slot, cancel_booking
from bookings.tasks import after_booking_dedupe_key
from bookings.tests.factories import BusinessFactory, ServiceFactory
from bookings.tests.page_forms import form_values
from bookings.tests.timeutil import local, upcoming
from integrations.microsoft_calendar.client import GraphClient, transaction_id_for
from integrations.microsoft_calendar.models import OutlookCalendarConnection, OutlookEventSync
from integrations.microsoft_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db(transaction=True)

SyncStatus = OutlookEventSync.Status
EVENTS = "/v1.0/me/calendar/events"


@pytest.fixture(autouse=True)
def run_tasks_by_hand(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False  # the tests play the worker


@pytest.fixture
def business(db):
    return BusinessFactory(
        booking_provider="outlook_calendar",
        timezone="Europe/London",
        notification_emails="owner@salon.example",
    )


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=45)


def book(business, service, hour=15) -> Booking:
    outcome = book_slot(
        business=business,
        service=service,
        start=local(business, upcoming(business, 1), hour),
        customer_name="Maria Lopez",
        customer_phone="+447700900123",
        provider="outlook_calendar",
    )
    assert outcome.booking is not None
    return outcome.booking


def run_all_due(*, later: timedelta = timedelta(0)) -> None:
    run_due(now=timezone.now() + later)


def sync_of(booking: Booking) -> OutlookEventSync:
    return OutlookEventSync.objects.get(booking=booking)


def task_for(booking: Booking) -> OutboxTask:
    return OutboxTask.objects.get(dedupe_key=after_booking_dedupe_key(booking.pk))


def test_a_booking_gets_its_event_with_its_transaction_id(
    business, haircut, connection, fake_microsoft
):
    booking = book(business, haircut)

    run_all_due()

    [event] = fake_microsoft.events()
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert sync_of(booking).event_id == event["id"]
    assert event["transactionId"] == transaction_id_for(booking)
    assert event["start"]["timeZone"] == "Europe/London"
    assert event["subject"] == "Haircut - Maria Lopez"
    assert "+447700900123" in event["body"]["content"]


def test_events_go_to_the_chosen_calendar(business, haircut, connection, fake_microsoft):
    front_desk = fake_microsoft.add_calendar("Front desk")
    OutlookCalendarConnection.objects.filter(pk=connection.pk).update(write_calendar_id=front_desk)
    booking = book(business, haircut)

    run_all_due()

    assert [e["id"] for e in fake_microsoft.events(front_desk)] == [sync_of(booking).event_id]
    assert fake_microsoft.events() == []


def test_a_create_whose_answer_was_lost_never_duplicates(
    business, haircut, connection, fake_microsoft
):
    booking = book(business, haircut)
    # Graph made the event, but the answer never reached us (the worker died, a timeout).
    GraphClient(connection).insert_event(booking)
    assert sync_of(booking).event_id == ""

    run_all_due()

    [event] = fake_microsoft.events()
    assert sync_of(booking).status == SyncStatus.SYNCED and sync_of(booking).event_id == event["id"]


def test_a_timeout_is_retried_later_and_lands_once(
    business, haircut, connection, fake_microsoft, settings
):
    settings.MICROSOFT_HTTP_TIMEOUT = 0.5
    settings.MICROSOFT_NUM_RETRIES = 0
    fake_microsoft.hang(EVENTS, times=1)
    booking = book(business, haircut)

    run_all_due()
    run_all_due(later=timedelta(hours=1))

    assert sync_of(booking).status == SyncStatus.SYNCED
    assert len(fake_microsoft.events()) == 1


@pytest.mark.parametrize("status", [500, 503, 429])
def test_the_event_lands_once_graph_recovers(business, haircut, connection, fake_microsoft, status):
    fake_microsoft.fail(EVENTS, status, times=1000)
    booking = book(business, haircut)

    run_all_due()

    assert sync_of(booking).status == SyncStatus.PENDING and sync_of(booking).error
    assert task_for(booking).status == OutboxTask.Status.PENDING
    fake_microsoft.clear_faults()
    run_all_due(later=timedelta(hours=1))
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert len(fake_microsoft.events()) == 1


def test_throttling_is_honoured_with_retry_after(
    business, haircut, connection, fake_microsoft, settings
):
    settings.MICROSOFT_NUM_RETRIES = 0
    fake_microsoft.fail(EVENTS, 429, retry_after=120)
    booking = book(business, haircut)
    before = timezone.now()

    run_all_due()

    task = task_for(booking)
    assert task.status == OutboxTask.Status.PENDING
    assert task.next_attempt_at >= before + timedelta(seconds=119)
    connection.refresh_from_db()
    assert "throttled" in connection.last_error


def test_a_revoked_grant_waits_for_a_reconnect_then_lands_once(
    business, haircut, connection, fake_microsoft
):
    fake_microsoft.expire_access_tokens()
    fake_microsoft.invalidate_refresh_tokens()
    booking = book(business, haircut)

    run_all_due()

    connection.refresh_from_db()
    assert connection.status == OutlookCalendarConnection.Status.NEEDS_RECONNECT
    assert sync_of(booking).status == SyncStatus.PENDING
    connect_business(business, fake_microsoft)  # staff reconnect: waiting events go now
    run_all_due()
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert len(fake_microsoft.events()) == 1


def test_a_permanent_refusal_fails_visibly_tells_staff_and_can_be_retried(
    business, haircut, connection, fake_microsoft, admin_client
):
    fake_microsoft.fail(EVENTS, 403, times=1)
    booking = book(business, haircut)

    run_all_due()

    assert sync_of(booking).status == SyncStatus.FAILED
    assert task_for(booking).status == OutboxTask.Status.FAILED
    run_all_due()  # the staff notice goes through the outbox too
    assert any("missing from the calendar" in m.subject for m in mail.outbox)
    page = admin_client.get(f"/admin/bookings/booking/{booking.pk}/change/").content.decode()
    assert "Outlook sync" in page and "Failed" in page

    response = admin_client.post(
        "/admin/bookings/booking/",
        {"action": "retry_outlook_sync", "_selected_action": [booking.pk]},
    )
    assert response.status_code == 302
    run_all_due()
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert len(fake_microsoft.events()) == 1


def test_cancelling_deletes_the_event_and_a_gone_event_is_fine(
    business, haircut, connection, fake_microsoft
):
    first, second = book(business, haircut, hour=11), book(business, haircut, hour=15)
    run_all_due()
    assert len(fake_microsoft.events()) == 2
    fake_microsoft.delete_event(sync_of(second).event_id)  # staff deleted it in Outlook

    cancel_booking(booking=first)
    cancel_booking(booking=second)
    run_all_due()

    assert fake_microsoft.events() == []
    assert sync_of(first).status == sync_of(second).status == SyncStatus.NOT_REQUIRED


def test_staff_moving_a_booking_in_admin_moves_its_event(
    business, haircut, connection, fake_microsoft, admin_client
):
    booking = book(business, haircut, hour=11)
    run_all_due()
    url = f"/admin/bookings/booking/{booking.pk}/change/"
    later = local(business, upcoming(business, 1), 16)

    data = form_values(admin_client.get(url).content.decode()) | {
        "start_0": later.strftime("%Y-%m-%d"),
        "start_1": later.strftime("%H:%M:%S"),
    }
    assert admin_client.post(url, data).status_code == 302
    run_all_due()

    [event] = fake_microsoft.events()
    assert event["id"] == sync_of(booking).event_id
    assert event["start"]["dateTime"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    assert sync_of(booking).status == SyncStatus.SYNCED
    assert fake_microsoft.count("PATCH", "/v1.0/me/events/") == 1


def test_an_event_outlook_refuses_to_delete_is_reported_to_staff(
    business, haircut, connection, fake_microsoft
):
    booking = book(business, haircut)
    run_all_due()
    mail.outbox.clear()
    fake_microsoft.fail("/v1.0/me/events/", 403, times=1)

    cancel_booking(booking=booking)
    run_all_due()
    run_all_due()  # the staff notice goes through the outbox too

    assert len(fake_microsoft.events()) == 1  # still there: staff must know
    assert sync_of(booking).event_id  # kept, so a retry can still delete it
    [notice] = mail.outbox
    assert "cancelled booking is still in Outlook Calendar" in notice.subject
    assert "could not be deleted" in notice.body


def test_a_delete_that_keeps_failing_is_reported_on_its_last_attempt(
    business, haircut, connection, fake_microsoft
):
    booking = book(business, haircut)
    run_all_due()
    mail.outbox.clear()
    fake_microsoft.fail("/v1.0/me/events/", 503, times=100)
    cancel_booking(booking=booking)
    OutboxTask.objects.filter(payload__booking_id=booking.pk, status="pending").update(
        max_attempts=2
    )

    run_all_due()
    run_all_due(later=timedelta(hours=1))
    assert not mail.outbox  # the first failure is retried, not reported
    run_all_due(later=timedelta(hours=2))  # the last attempt gives up ...
    run_all_due(later=timedelta(hours=3))  # ... and its notice goes out

    assert [m.subject for m in mail.outbox if "still in Outlook" in m.subject]


def test_cancelling_after_the_calendar_was_disconnected_tells_staff(
    business, haircut, connection, fake_microsoft
):
    booking = book(business, haircut)
    run_all_due()
    mail.outbox.clear()
    OutlookCalendarConnection.objects.filter(pk=connection.pk).update(
        status=OutlookCalendarConnection.Status.DISCONNECTED
    )

    cancel_booking(booking=booking)
    run_all_due()
    run_all_due()

    assert len(fake_microsoft.events()) == 1
    assert any("still in Outlook Calendar" in m.subject for m in mail.outbox)


def test_a_later_different_failure_of_the_same_booking_is_reported_again(
    business, haircut, connection, fake_microsoft, admin_client
):
    fake_microsoft.fail(EVENTS, 403, times=1)
    booking = book(business, haircut, hour=11)
    run_all_due()
    run_all_due()
    assert sum("missing from the calendar" in m.subject for m in mail.outbox) == 1
    admin_client.post(
        "/admin/bookings/booking/",
        {"action": "retry_outlook_sync", "_selected_action": [booking.pk]},
    )
    run_all_due()
    assert sync_of(booking).status == SyncStatus.SYNCED

    fake_microsoft.fail("/v1.0/me/events/", 403, times=1)  # staff move it; Outlook refuses
    url = f"/admin/bookings/booking/{booking.pk}/change/"
    later = local(business, upcoming(business, 1), 16)
    data = form_values(admin_client.get(url).content.decode()) | {
        "start_0": later.strftime("%Y-%m-%d"),
        "start_1": later.strftime("%H:%M:%S"),
    }
    assert admin_client.post(url, data).status_code == 302
    run_all_due()
    run_all_due()

    assert sync_of(booking).status == SyncStatus.FAILED
    assert sum("missing from the calendar" in m.subject for m in mail.outbox) == 2
