from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, DateException
from bookings.providers.base import BookingContext
from bookings.providers.native import NativeBookingProvider
from bookings.slots import Refusal
from bookings.tests.factories import BookingFactory, ServiceFactory, acreate
from bookings.tests.timeutil import local, upcoming

pytestmark = pytest.mark.django_db(transaction=True)


def context(business, service, start, **extra):
    return BookingContext(
        business=business,
        service=service,
        start=start,
        end=start + service.duration,
        customer_name="Maria",
        customer_phone="+15555550123",
        **extra,
    )


async def check(business, service, start):
    return await NativeBookingProvider(business).check_availability(
        context(business, service, start)
    )


async def test_free_slot_is_available(business, haircut):
    tuesday = upcoming(business, 1)
    result = await check(business, haircut, local(business, tuesday, 15))
    assert result.available and result.reason is None and result.alternatives == []


async def test_busy_slot_offers_alternatives(business, haircut):
    tuesday = upcoming(business, 1)
    await acreate(BookingFactory, service=haircut, start=local(business, tuesday, 15))
    result = await check(business, haircut, local(business, tuesday, 15))
    assert not result.available
    assert result.reason == Refusal.TAKEN
    assert result.alternatives == [
        local(business, tuesday, 14, 30),
        local(business, tuesday, 15, 30),
        local(business, tuesday, 14, 15),
    ]


async def test_cancelled_bookings_do_not_block(business, haircut):
    tuesday = upcoming(business, 1)
    await acreate(
        BookingFactory,
        service=haircut,
        start=local(business, tuesday, 15),
        status=Booking.Status.CANCELLED,
    )
    assert (await check(business, haircut, local(business, tuesday, 15))).available


async def test_other_businesses_bookings_do_not_block(business, haircut):
    other = await acreate(ServiceFactory)
    tuesday = upcoming(business, 1)
    await acreate(BookingFactory, service=other, start=local(other.business, tuesday, 15))
    assert (await check(business, haircut, local(business, tuesday, 15))).available


@pytest.mark.parametrize(
    ("weekday", "hour", "minute", "reason"),
    [
        (6, 12, 0, Refusal.CLOSED_DAY),  # Sunday
        (1, 17, 45, Refusal.OUTSIDE_HOURS),  # the haircut would end after 18:00
        (1, 8, 0, Refusal.OUTSIDE_HOURS),
        (5, 16, 0, Refusal.OUTSIDE_HOURS),  # Saturday closes at 16:00
    ],
)
async def test_refusals_explain_why_and_offer_alternatives(
    business, haircut, weekday, hour, minute, reason
):
    day = upcoming(business, weekday)
    result = await check(business, haircut, local(business, day, hour, minute))
    assert result.reason == reason
    assert len(result.alternatives) == 3
    assert all(alt > timezone.now() for alt in result.alternatives)


async def test_holiday_is_closed(business, haircut):
    tuesday = upcoming(business, 1)
    await DateException.objects.acreate(
        business=business, date=tuesday, closed=True, note="Holiday"
    )
    result = await check(business, haircut, local(business, tuesday, 15))
    assert result.reason == Refusal.CLOSED_DAY
    assert result.alternatives[0].astimezone(business.tz).date() == tuesday + timedelta(days=1)


async def test_past_too_soon_and_too_far(business, haircut):
    now = timezone.now()
    assert (await check(business, haircut, now - timedelta(hours=2))).reason == Refusal.PAST
    assert (await check(business, haircut, now + timedelta(minutes=20))).reason in {
        Refusal.TOO_SOON,
        Refusal.CLOSED_DAY,
        Refusal.OUTSIDE_HOURS,
    }
    far = local(business, upcoming(business, 1, at_least_days=70), 12)
    far_result = await check(business, haircut, far)
    assert far_result.reason == Refusal.TOO_FAR and far_result.alternatives == []


async def test_create_booking_books_and_a_second_attempt_is_refused(business, haircut):
    provider = NativeBookingProvider(business)
    start = local(business, upcoming(business, 2), 11)
    first = await provider.create_booking(context(business, haircut, start, call_sid="CA1"))
    assert first.booked
    booking = await Booking.objects.aget(pk=first.booking_id)
    assert (booking.start, booking.end, booking.provider) == (
        start,
        start + timedelta(minutes=30),
        "native",
    )
    assert booking.source_call_sid == "CA1"
    second = await provider.create_booking(
        context(business, haircut, start + timedelta(minutes=15))
    )
    assert not second.booked and second.reason == Refusal.TAKEN
    assert second.alternatives and start + timedelta(minutes=30) in second.alternatives


async def test_free_starts_within_a_window(business, haircut):
    tuesday = upcoming(business, 1)
    await acreate(BookingFactory, service=haircut, start=local(business, tuesday, 9, 30))
    starts = await NativeBookingProvider(business).free_starts(
        service=haircut,
        start=local(business, tuesday, 9),
        end=local(business, tuesday, 12),
        limit=4,
    )
    assert starts == [
        local(business, tuesday, 9),
        local(business, tuesday, 10),
        local(business, tuesday, 10, 15),
        local(business, tuesday, 10, 30),
    ]


async def test_a_booking_can_move_by_a_quarter_of_an_hour_into_its_own_old_slot(business, haircut):
    provider = NativeBookingProvider(business)
    tuesday = upcoming(business, 1)
    booking = await acreate(BookingFactory, service=haircut, start=local(business, tuesday, 11))
    later = local(business, tuesday, 11, 15)

    as_new = await provider.check_availability(context(business, haircut, later))
    as_move = await provider.check_availability(
        context(business, haircut, later, moving_booking_id=booking.pk)
    )
    intent = await provider.move_booking(context(business, haircut, later), booking.pk)

    assert not as_new.available and as_new.reason == Refusal.TAKEN
    assert as_move.available
    assert intent.booked and intent.booking_id != booking.pk
    await booking.arefresh_from_db()
    moved = await Booking.objects.aget(pk=intent.booking_id)
    assert booking.status == Booking.Status.CANCELLED
    assert (moved.status, moved.start, moved.end) == (
        Booking.Status.CONFIRMED,
        later,
        later + timedelta(minutes=30),
    )


async def test_a_move_onto_someone_elses_booking_is_refused_with_alternatives(business, haircut):
    provider = NativeBookingProvider(business)
    tuesday = upcoming(business, 1)
    booking = await acreate(BookingFactory, service=haircut, start=local(business, tuesday, 11))
    await acreate(
        BookingFactory,
        service=haircut,
        start=local(business, tuesday, 11, 30),
        customer_phone="+15555550999",
    )

    intent = await provider.move_booking(
        context(business, haircut, local(business, tuesday, 11, 30)), booking.pk
    )

    assert not intent.booked and intent.reason == Refusal.TAKEN
    # Nearest first; its own 11:00 slot (and 10:45, overlapping it) is free to move into.
    assert intent.alternatives == [
        local(business, tuesday, 11),
        local(business, tuesday, 12),
        local(business, tuesday, 10, 45),
    ]
    await booking.arefresh_from_db()
    assert (booking.status, booking.start) == (
        Booking.Status.CONFIRMED,
        local(business, tuesday, 11),
    )
    assert await Booking.objects.filter(status=Booking.Status.CONFIRMED).acount() == 2


async def test_free_starts_for_a_move_include_the_bookings_own_time(business, haircut):
    tuesday = upcoming(business, 1)
    booking = await acreate(BookingFactory, service=haircut, start=local(business, tuesday, 9))

    starts = await NativeBookingProvider(business).free_starts(
        service=haircut,
        start=local(business, tuesday, 9),
        end=local(business, tuesday, 10),
        limit=3,
        moving_booking_id=booking.pk,
    )

    assert starts == [
        local(business, tuesday, 9),
        local(business, tuesday, 9, 15),
        local(business, tuesday, 9, 30),
    ]
