"""No double booking, guaranteed by the database, under real concurrency.

Runs on whichever database this run is configured for: `make test` runs the suite on
SQLite and again on Postgres, so both guarantees are exercised.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import pairwise

import pytest
from django.db import IntegrityError, connection, transaction

from bookings.models import Booking
from bookings.services import book_slot
from bookings.slots import Refusal
from bookings.tests.factories import BookingFactory
from bookings.tests.timeutil import local, upcoming

pytestmark = pytest.mark.django_db(transaction=True)
ATTEMPTS = 24


def race(business, service, starts):
    """Fire one book_slot per start, all released at once, each on its own connection."""
    barrier = threading.Barrier(len(starts))

    def attempt(index_and_start):
        index, start = index_and_start
        try:
            barrier.wait()
            return book_slot(
                business=business,
                service=service,
                start=start,
                customer_name=f"Caller {index}",
                customer_phone="+15555550123",
                provider="native",
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(starts)) as pool:
        return list(pool.map(attempt, enumerate(starts)))


def test_simultaneous_attempts_at_one_slot_make_exactly_one_booking(business, haircut):
    start = local(business, upcoming(business, 1), 15)
    outcomes = race(business, haircut, [start] * ATTEMPTS)
    booked = [o for o in outcomes if o.booking is not None]
    assert len(booked) == 1
    assert {o.refusal for o in outcomes if o.booking is None} == {Refusal.TAKEN}
    assert Booking.objects.confirmed().filter(business=business).count() == 1


def test_simultaneous_overlapping_attempts_never_overlap(business, haircut):
    day = upcoming(business, 2)
    # 10:00, 10:05, ... 11:55: 24 different starts, each 30 minutes long.
    starts = [local(business, day, 10) + timedelta(minutes=5 * i) for i in range(ATTEMPTS)]
    race(business, haircut, starts)
    rows = list(Booking.objects.confirmed().filter(business=business).order_by("start"))
    assert len(rows) >= 2
    assert all(a.end <= b.start for a, b in pairwise(rows))


def test_an_overlapping_but_not_identical_slot_is_refused(business, haircut):
    day = upcoming(business, 3)
    BookingFactory(service=haircut, start=local(business, day, 10))
    outcome = book_slot(
        business=business,
        service=haircut,
        start=local(business, day, 10, 15),
        customer_name="Late",
        customer_phone="+15555550124",
        provider="native",
    )
    assert outcome.booking is None and outcome.refusal == Refusal.TAKEN


def test_postgres_itself_refuses_an_overlap_that_skips_the_service(business, haircut):
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint exists on Postgres only")
    day = upcoming(business, 3)
    BookingFactory(service=haircut, start=local(business, day, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(service=haircut, start=local(business, day, 10, 15))
    # A cancelled booking does not take part.
    BookingFactory(service=haircut, start=local(business, day, 10), status=Booking.Status.CANCELLED)
