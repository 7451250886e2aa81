"""Per-service rules: own days and hours inside the opening hours, a cleanup buffer after it
that the next booking can't use, its own minimum notice. For checks and alternatives alike,
on ordinary and DST days."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from django.db import IntegrityError, connection, transaction

from bookings.models import Booking, ServiceHours
from bookings.providers.base import BookingContext
from bookings.providers.native import NativeBookingProvider
from bookings.services import book_slot
from bookings.slots import Refusal, Schedule, ServiceRules, check_slot, free_starts
from bookings.slots import nearest_free_slots as nearest
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local, upcoming

NY = ZoneInfo("America/New_York")
WEEKDAYS = {d: ((time(9), time(18)),) for d in range(5)} | {5: ((time(10), time(16)),)}
COLOURING = 7
CLEANUP = 8
NOTICE = 9
SALON = Schedule(
    tz=NY,
    weekly=WEEKDAYS,
    services={
        COLOURING: ServiceRules(
            name="Hair colouring", weekly={d: ((time(10), time(15)),) for d in range(1, 6)}
        ),
        CLEANUP: ServiceRules(name="Facial", buffer=timedelta(minutes=15)),
        NOTICE: ServiceRules(name="Perm", min_notice=timedelta(days=1)),
    },
)
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=NY)  # a Monday morning
MONDAY, TUESDAY, SATURDAY, SUNDAY = (date(2026, 11, d) for d in (23, 24, 28, 29))
HOUR = timedelta(hours=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(TUESDAY, 10), None),  # its first hour
        (at(TUESDAY, 14), None),  # ends exactly at 15:00
        (at(TUESDAY, 14, 15), Refusal.SERVICE_HOURS),  # would run past its 15:00
        (at(TUESDAY, 9), Refusal.SERVICE_HOURS),  # the salon is open, colouring isn't yet
        (at(MONDAY, 11), Refusal.SERVICE_HOURS),  # open Monday, no colouring on Mondays
        (at(SATURDAY, 14), None),
        (at(SUNDAY, 11), Refusal.CLOSED_DAY),  # the salon itself is closed
        (at(TUESDAY, 18), Refusal.SERVICE_HOURS),  # its own hours explain it best
    ],
)
def test_a_service_is_offered_only_on_its_own_days_and_hours(start, expected):
    colouring = SALON.for_service(COLOURING)
    assert check_slot(colouring, start, start + HOUR, [], NOW) == expected


def test_a_service_without_rules_keeps_the_opening_hours():
    assert check_slot(SALON.for_service(1), at(MONDAY, 11), at(MONDAY, 12), [], NOW) is None
    assert check_slot(SALON.for_service(None), at(TUESDAY, 9), at(TUESDAY, 10), [], NOW) is None
    assert (
        check_slot(SALON.for_service(1), at(TUESDAY, 17, 30), at(TUESDAY, 18, 30), [], NOW)
        == Refusal.OUTSIDE_HOURS
    )


def test_service_hours_stay_inside_special_days():
    short = Schedule(
        tz=NY,
        weekly=WEEKDAYS,
        exceptions={TUESDAY: ((time(9), time(12)),)},
        services=SALON.services,
    ).for_service(COLOURING)
    assert short.bookable_ranges_on(TUESDAY) == ((time(10), time(12)),)
    assert check_slot(short, at(TUESDAY, 11), at(TUESDAY, 12), [], NOW) is None
    # Inside colouring's own hours, outside the day's special hours.
    assert check_slot(short, at(TUESDAY, 12), at(TUESDAY, 13), [], NOW) == Refusal.OUTSIDE_HOURS


def test_the_buffer_after_a_booking_cannot_be_used_by_the_next_one():
    facial = SALON.for_service(CLEANUP)
    # Another booking at 11:00: our 10:00 hour's cleanup (11:00-11:15) would run into it.
    busy = [(at(TUESDAY, 11), at(TUESDAY, 12))]
    assert check_slot(facial, at(TUESDAY, 10), at(TUESDAY, 11), busy, NOW) == Refusal.TAKEN
    assert check_slot(facial, at(TUESDAY, 9, 45), at(TUESDAY, 10, 45), busy, NOW) is None
    # A service without a buffer may end exactly when the next begins.
    plain = SALON.for_service(1)
    assert check_slot(plain, at(TUESDAY, 10), at(TUESDAY, 11), busy, NOW) is None
    # The buffer may run past closing time.
    assert check_slot(facial, at(TUESDAY, 17), at(TUESDAY, 18), [], NOW) is None


def test_a_service_has_its_own_minimum_notice():
    perm = SALON.for_service(NOTICE)
    assert check_slot(perm, at(MONDAY, 15), at(MONDAY, 16), [], NOW) == Refusal.TOO_SOON
    assert check_slot(perm, at(TUESDAY, 9), at(TUESDAY, 10), [], NOW) is None
    assert check_slot(SALON, at(MONDAY, 15), at(MONDAY, 16), [], NOW) is None


def test_alternatives_honour_the_service_hours_buffer_and_notice():
    colouring = SALON.for_service(COLOURING)
    offers = nearest(colouring, wanted=at(MONDAY, 11), duration=HOUR, busy=[], now=NOW)
    assert offers == [at(TUESDAY, 11), at(TUESDAY, 10, 45), at(TUESDAY, 11, 15)]

    facial = SALON.for_service(CLEANUP)
    busy = [(at(TUESDAY, 11), at(TUESDAY, 12))]
    starts = free_starts(
        facial, duration=HOUR, busy=busy, now=NOW, between=(at(TUESDAY, 9), at(TUESDAY, 13))
    )
    assert at(TUESDAY, 9, 45) in starts
    assert at(TUESDAY, 10) not in starts  # its cleanup would need 11:00-11:15
    assert at(TUESDAY, 12) in starts  # the other booking has no buffer

    perm = SALON.for_service(NOTICE)
    assert nearest(perm, wanted=at(MONDAY, 12), duration=HOUR, busy=[], now=NOW)[0] >= (
        NOW + timedelta(days=1)
    )


# -- DST days, America/New_York ---------------------------------------------------------

SPRING = date(2026, 3, 8)  # 02:00 EST -> 03:00 EDT
AUTUMN = date(2026, 11, 1)  # 02:00 EDT -> 01:00 EST
NIGHT = 3


def dst_schedule(*, buffer=timedelta(0)) -> Schedule:
    every_day = {d: ((time(0), time(6)), (time(9), time(18))) for d in range(7)}
    return Schedule(
        tz=NY,
        weekly=every_day,
        horizon=timedelta(days=400),
        services={
            NIGHT: ServiceRules(
                name="Night shift",
                weekly={6: ((time(1), time(4)),)},  # Sundays 01:00-04:00, wall clock
                buffer=buffer,
            )
        },
    ).for_service(NIGHT)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_service_hours_on_the_spring_forward_day_are_two_real_hours():
    schedule = dst_schedule()
    before = datetime(2026, 1, 1, tzinfo=UTC)
    starts = free_starts(
        schedule,
        duration=HOUR,
        busy=[],
        now=before,
        between=(at(SPRING, 0), at(SPRING, 6)),
    )
    # 01:00 EST (06:00Z) to 04:00 EDT (08:00Z): one hour appointments start 06:00Z..07:00Z.
    assert starts[0] == utc(2026, 3, 8, 6) and starts[-1] == utc(2026, 3, 8, 7)
    assert len(starts) == 5
    # 03:30 EDT is inside, 04:00 EDT's hour is not.
    assert check_slot(schedule, at(SPRING, 3), at(SPRING, 3) + HOUR, [], before) is None
    assert (
        check_slot(schedule, at(SPRING, 3, 30), at(SPRING, 3, 30) + HOUR, [], before)
        == Refusal.SERVICE_HOURS
    )


def test_service_hours_on_the_fall_back_day_are_four_real_hours():
    schedule = dst_schedule()
    before = datetime(2026, 10, 1, tzinfo=UTC)
    starts = free_starts(
        schedule, duration=HOUR, busy=[], now=before, between=(at(AUTUMN, 0), at(AUTUMN, 6))
    )
    # 01:00 EDT (05:00Z) to 04:00 EST (09:00Z): the repeated hour is bookable too.
    assert starts[0] == utc(2026, 11, 1, 5) and starts[-1] == utc(2026, 11, 1, 8)
    assert len(starts) == 13
    # Monday after: no night shift on weekdays, although the salon is open at 01:00.
    monday = AUTUMN + timedelta(days=1)
    assert check_slot(schedule, at(monday, 1), at(monday, 2), [], before) == Refusal.SERVICE_HOURS


def test_a_buffer_across_the_fall_back_hour_is_real_time():
    schedule = dst_schedule(buffer=timedelta(minutes=30))
    before = datetime(2026, 10, 1, tzinfo=UTC)
    # Someone else from 01:15 EST (06:15Z): our 05:00Z-06:00Z hour needs 06:00Z-06:30Z clean.
    busy = [(utc(2026, 11, 1, 6, 15), utc(2026, 11, 1, 7))]
    refused = check_slot(schedule, utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), busy, before)
    assert refused == Refusal.TAKEN
    # From 01:30 EST (06:30Z) on, the same hour and its cleanup fit.
    later = [(utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 7))]
    assert check_slot(schedule, utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), later, before) is None


# -- With the database: what is stored, what the provider offers ---------------------------


@pytest.fixture
def colouring(business):
    service = ServiceFactory(business=business, name="Hair colouring", duration_minutes=60)
    for weekday in range(1, 6):
        ServiceHours.objects.create(
            service=service, weekday=weekday, opens=time(10), closes=time(15)
        )
    return service


@pytest.fixture
def facial(business):
    return ServiceFactory(business=business, name="Facial", duration_minutes=60, buffer_minutes=15)


def book(business, service, start, phone="+15555550123"):
    return book_slot(
        business=business,
        service=service,
        start=start,
        customer_name="Maria",
        customer_phone=phone,
        provider="native",
    )


def test_the_business_schedule_carries_each_services_rules(business, colouring, facial, haircut):
    schedule = business.schedule()
    assert set(schedule.services) == {colouring.pk, facial.pk}
    assert schedule.for_service(colouring.pk).service.weekly[1] == ((time(10), time(15)),)
    assert schedule.for_service(facial.pk).buffer == timedelta(minutes=15)
    assert schedule.for_service(haircut.pk).service is None


def test_a_booking_keeps_its_buffer_and_the_next_one_waits_for_it(business, facial, haircut):
    day = upcoming(business, 2)
    first = book(business, facial, local(business, day, 10)).booking
    assert first.buffer_until == local(business, day, 11, 15)
    refused = book(business, haircut, local(business, day, 11), phone="+15555550124")
    assert refused.booking is None and refused.refusal == Refusal.TAKEN
    assert book(business, haircut, local(business, day, 11, 15)).booking is not None
    # And its own buffer: a facial ending when a booking begins is refused.
    BookingFactory(service=haircut, start=local(business, day, 14))
    assert book(business, facial, local(business, day, 13)).refusal == Refusal.TAKEN


def test_booking_outside_the_service_hours_is_refused(business, colouring):
    monday = upcoming(business, 0)
    outcome = book(business, colouring, local(business, monday, 11))
    assert outcome.booking is None and outcome.refusal == Refusal.SERVICE_HOURS
    assert not Booking.objects.exists()


def test_postgres_itself_keeps_the_buffer_free(business, facial, haircut):
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint exists on Postgres only")
    day = upcoming(business, 3)
    BookingFactory(
        service=facial,
        start=local(business, day, 10),
        buffer_until=local(business, day, 11, 15),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(service=haircut, start=local(business, day, 11))
    BookingFactory(service=haircut, start=local(business, day, 11, 15))


async def check(provider, service, start):
    return await provider.check_availability(
        BookingContext(
            business=provider.business, service=service, start=start, end=start + service.duration
        )
    )


@pytest.mark.django_db(transaction=True)
async def test_the_provider_refuses_and_offers_only_what_the_rules_allow(business, colouring):
    monday = await sync_to_async(upcoming)(business, 0)
    provider = NativeBookingProvider(business)
    result = await check(provider, colouring, local(business, monday, 11))
    assert not result.available and result.reason == Refusal.SERVICE_HOURS
    assert result.alternatives
    for offer in result.alternatives:
        wall = offer.astimezone(business.tz)
        assert wall.weekday() in range(1, 6)
        assert time(10) <= wall.time() and (wall + colouring.duration).time() <= time(15)
    starts = await provider.free_starts(
        service=colouring,
        start=local(business, monday, 0),
        end=local(business, monday + timedelta(days=2), 0),
        limit=100,
    )
    assert starts and all(s.astimezone(business.tz).date() != monday for s in starts)
    assert starts[0] == local(business, monday + timedelta(days=1), 10)


def test_per_service_notice_is_checked_at_booking(db):
    every_day = BusinessFactory(hours=[(d, time(9), time(18)) for d in range(7)])
    perm = ServiceFactory(business=every_day, duration_minutes=60, min_notice_minutes=48 * 60)
    haircut = ServiceFactory(business=every_day, duration_minutes=60)
    tomorrow = every_day.local_today() + timedelta(days=1)
    outcome = book(every_day, perm, local(every_day, tomorrow, 12))
    assert outcome.booking is None and outcome.refusal == Refusal.TOO_SOON
    assert book(every_day, haircut, local(every_day, tomorrow, 12)).booking is not None
    later = tomorrow + timedelta(days=2)
    assert book(every_day, perm, local(every_day, later, 12)).booking is not None
