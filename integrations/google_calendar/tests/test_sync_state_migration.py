"""The calendar sync columns moved from bookings.Booking to CalendarEventSync: existing
values survive the move, and migrating back puts them where they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("bookings", "0006_staff_notifications"), ("google_calendar", "0001_initial")]
AFTER = [
    ("bookings", "0007_remove_booking_calendar_fields"),
    ("google_calendar", "0002_calendareventsync"),
]
# status, event id, calendar id, error
OLD_ROWS = [
    ("synced", "rcptevent1", "front-desk@example.com", ""),
    ("failed", "", "", "Google said no (403 forbidden)"),
    ("pending", "", "", "Google Calendar is not connected; waiting"),
    ("not_required", "", "", ""),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def latest():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def make_old_bookings(apps) -> list[int]:
    business = apps.get_model("bookings", "Business").objects.create(
        name="Salon", slug="salon", phone_number="+15555550100"
    )
    service = apps.get_model("bookings", "Service").objects.create(
        business=business, name="Haircut", duration_minutes=30
    )
    Booking = apps.get_model("bookings", "Booking")
    start = datetime(2027, 1, 4, 15, tzinfo=UTC)
    ids = []
    for day, (status, event_id, calendar_id, error) in enumerate(OLD_ROWS):
        booking = Booking.objects.create(
            business=business,
            service=service,
            customer_name=f"Caller {day}",
            customer_phone="+15555550123",
            start=start + timedelta(days=day),
            end=start + timedelta(days=day, minutes=30),
            provider="google_calendar",
            calendar_sync_status=status,
            calendar_event_id=event_id,
            calendar_id=calendar_id,
            calendar_sync_error=error,
        )
        ids.append(booking.pk)
    return ids


def test_sync_state_moves_to_the_calendar_app_and_back(latest):
    ids = make_old_bookings(migrate(BEFORE))

    moved = migrate(AFTER).get_model("google_calendar", "CalendarEventSync")

    rows = {
        row.booking_id: (row.status, row.event_id, row.calendar_id, row.error)
        for row in moved.objects.all()
    }
    # A booking that never wanted an event has no row: there is nothing to keep.
    assert rows == dict(zip(ids[:3], OLD_ROWS[:3], strict=True))

    Booking = migrate(BEFORE).get_model("bookings", "Booking")

    back = {
        b.pk: (b.calendar_sync_status, b.calendar_event_id, b.calendar_id, b.calendar_sync_error)
        for b in Booking.objects.all()
    }
    assert back == dict(zip(ids, OLD_ROWS, strict=True))
