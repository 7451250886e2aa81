"""A booking made on a call carries its consequences in its own transaction: the call's link
to it, the outcome, and the customer's confirmation text. Whatever crashes after the commit,
none of them is missing; whatever rolls the booking back takes them with it."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, OutboxTask
from bookings.services import book_slot, move_booking
from bookings.tests.factories import BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local, upcoming
from calls.models import Call
from calls.sms.tasks import SMS_BOOKING_CHANGE, SMS_BOOKING_CONFIRMATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def business():
    return BusinessFactory()


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=30)


def book(business, service, start, *, call_sid: str):
    return book_slot(
        business=business,
        service=service,
        start=start,
        customer_name="Maria",
        customer_phone="+15555550123",
        provider="native",
        call_sid=call_sid,
    ).booking


def texts_for(booking: Booking) -> int:
    # A new booking's confirmation, or the "moved" text of the booking a move made.
    return OutboxTask.objects.filter(
        kind__in=[SMS_BOOKING_CONFIRMATION, SMS_BOOKING_CHANGE], payload__booking_id=booking.pk
    ).count()


def test_the_call_and_the_text_are_written_before_the_booking_commits(business, haircut):
    call = Call.objects.create(sid="CAlive", business=business)
    start = local(business, upcoming(business, 1), 15)
    with transaction.atomic():
        booking = book(business, haircut, start, call_sid=call.sid)
        # Still inside the booking's transaction: nothing waits for the commit.
        call.refresh_from_db()
        assert (call.booking_id, call.outcome) == (booking.pk, Call.Outcome.BOOKED)
        assert texts_for(booking) == 1


def test_a_booking_rolled_back_takes_its_link_and_text_with_it(business, haircut):
    call = Call.objects.create(sid="CAundone", business=business)
    start = local(business, upcoming(business, 1), 15)
    with pytest.raises(RuntimeError), transaction.atomic():
        book(business, haircut, start, call_sid=call.sid)
        raise RuntimeError("the process dies before the commit")
    call.refresh_from_db()
    assert (call.booking_id, call.outcome) == (None, Call.Outcome.IN_PROGRESS)
    assert not OutboxTask.objects.filter(kind=SMS_BOOKING_CONFIRMATION).exists()


def test_a_move_on_a_call_settles_it_as_moved(business, haircut):
    first = book(business, haircut, local(business, upcoming(business, 1), 15), call_sid="")
    call = Call.objects.create(sid="CAmove", business=business)
    moved = move_booking(
        booking=first, start=local(business, upcoming(business, 2), 11), call_sid=call.sid
    )
    call.refresh_from_db()
    assert (call.booking_id, call.outcome) == (moved.booking.pk, Call.Outcome.MOVED)
    assert texts_for(moved.booking) == 1


def test_a_finished_call_is_never_linked_again(business, haircut):
    ended = timezone.now()
    call = Call.objects.create(
        sid="CAover", business=business, outcome=Call.Outcome.ABANDONED, ended_at=ended
    )
    book(business, haircut, local(business, upcoming(business, 1), 15), call_sid=call.sid)
    call.refresh_from_db()
    assert (call.booking_id, call.outcome, call.ended_at) == (None, "abandoned", ended)
