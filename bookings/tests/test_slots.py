"""Slot arithmetic: opening-hours edges, DST, alternatives and their order (no database)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.slots import Refusal, Schedule, check_slot, free_starts, nearest_free_slots

NY = ZoneInfo("America/New_York")
WEEKDAYS = {d: ((time(9), time(18)),) for d in range(5)} | {5: ((time(10), time(16)),)}
SALON = Schedule(tz=NY, weekly=WEEKDAYS)
EVERY_DAY = Schedule(tz=NY, weekly={d: ((time(9), time(18)),) for d in range(7)})
HALF_HOUR = timedelta(minutes=30)
# A Monday morning, well before the slots asked about.
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=NY)


def at(day: date, hour: int, minute: int = 0, tz=NY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


TUESDAY = date(2026, 11, 24)
SUNDAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (at(TUESDAY, 9), 30, None),  # opening minute
        (at(TUESDAY, 17, 30), 30, None),  # ends exactly at closing
        (at(TUESDAY, 17, 45), 30, Refusal.OUTSIDE_HOURS),  # would run past closing
        (at(TUESDAY, 8, 45), 30, Refusal.OUTSIDE_HOURS),  # starts before opening
        (at(TUESDAY, 18), 15, Refusal.OUTSIDE_HOURS),  # closing minute is closed
        (at(SUNDAY, 12), 30, Refusal.CLOSED_DAY),
        (at(date(2026, 11, 28), 15, 45), 15, None),  # Saturday's last slot
        (at(date(2026, 11, 28), 16), 15, Refusal.OUTSIDE_HOURS),  # Saturday closes at 16
        (at(date(2026, 11, 23), 7), 30, Refusal.PAST),
        (at(date(2026, 11, 23), 8, 30), 30, Refusal.TOO_SOON),  # inside the 1 h notice
        (at(date(2026, 11, 23), 9), 30, None),  # exactly the notice
        (NOW + timedelta(days=61), 30, Refusal.TOO_FAR),
    ],
)
def test_check_slot_rules(start, minutes, expected):
    end = start + timedelta(minutes=minutes)
    assert check_slot(SALON, start, end, [], NOW) == expected


def test_overlap_is_half_open():
    busy = [(at(TUESDAY, 10), at(TUESDAY, 10, 30))]
    assert check_slot(SALON, at(TUESDAY, 10, 30), at(TUESDAY, 11), busy, NOW) is None
    assert check_slot(SALON, at(TUESDAY, 9, 30), at(TUESDAY, 10), busy, NOW) is None
    assert check_slot(SALON, at(TUESDAY, 10, 15), at(TUESDAY, 10, 45), busy, NOW) == Refusal.TAKEN
    assert check_slot(SALON, at(TUESDAY, 9, 45), at(TUESDAY, 10, 15), busy, NOW) == Refusal.TAKEN


def test_several_ranges_a_day_and_exceptions():
    lunch_break = Schedule(
        tz=NY,
        weekly={1: ((time(9), time(12)), (time(13), time(17)))},
        exceptions={date(2026, 12, 1): ()},  # a closed Tuesday
    )
    assert check_slot(lunch_break, at(TUESDAY, 11, 30), at(TUESDAY, 12), [], NOW) is None
    refusal = check_slot(lunch_break, at(TUESDAY, 11, 45), at(TUESDAY, 12, 15), [], NOW)
    assert refusal == Refusal.OUTSIDE_HOURS  # must fit in one range, not straddle lunch
    closed = date(2026, 12, 1)
    assert (
        check_slot(lunch_break, at(closed, 10), at(closed, 10, 30), [], NOW) == Refusal.CLOSED_DAY
    )


def test_special_hours_replace_the_weekday():
    short_day = Schedule(tz=NY, weekly=WEEKDAYS, exceptions={TUESDAY: ((time(10), time(12)),)})
    assert (
        check_slot(short_day, at(TUESDAY, 9), at(TUESDAY, 9, 30), [], NOW) == Refusal.OUTSIDE_HOURS
    )
    assert check_slot(short_day, at(TUESDAY, 11, 30), at(TUESDAY, 12), [], NOW) is None


def test_alternatives_same_day_nearest_first_then_following_days():
    busy = [(at(TUESDAY, 15), at(TUESDAY, 15, 30))]
    found = nearest_free_slots(
        SALON, wanted=at(TUESDAY, 15), duration=HALF_HOUR, busy=busy, now=NOW
    )
    # 14:45 would overlap; 14:30 and 15:30 are equally near, the earlier first.
    assert found == [at(TUESDAY, 14, 30), at(TUESDAY, 15, 30), at(TUESDAY, 14, 15)]


def test_alternatives_move_to_following_days_when_the_day_is_full():
    full = [(at(TUESDAY, 9), at(TUESDAY, 18))]
    found = nearest_free_slots(
        SALON, wanted=at(TUESDAY, 15), duration=HALF_HOUR, busy=full, now=NOW, count=2
    )
    wednesday = TUESDAY + timedelta(days=1)
    assert found == [at(wednesday, 15), at(wednesday, 14, 45)]


def test_alternatives_skip_closed_days_and_respect_saturday_hours():
    saturday = date(2026, 11, 28)
    full = [(at(saturday, 10), at(saturday, 16))]
    found = nearest_free_slots(
        SALON, wanted=at(saturday, 11), duration=HALF_HOUR, busy=full, now=NOW, count=1
    )
    assert found == [at(date(2026, 11, 30), 11)]  # Sunday closed -> Monday at the same time


def test_alternatives_for_a_closing_time_request_fit_before_closing():
    found = nearest_free_slots(
        SALON, wanted=at(TUESDAY, 17, 45), duration=HALF_HOUR, busy=[], now=NOW, count=2
    )
    assert found == [at(TUESDAY, 17, 30), at(TUESDAY, 17, 15)]


def test_alternatives_never_before_the_notice_or_beyond_the_horizon():
    found = nearest_free_slots(
        SALON, wanted=at(date(2026, 11, 23), 8), duration=HALF_HOUR, busy=[], now=NOW, count=3
    )
    assert all(start >= NOW + timedelta(hours=1) for start in found)
    assert found[0] == at(date(2026, 11, 23), 9)
    horizon_end = NOW + timedelta(days=60)
    late = nearest_free_slots(
        SALON,
        wanted=horizon_end - timedelta(days=2),
        duration=HALF_HOUR,
        busy=[],
        now=NOW,
        count=50,
    )
    assert late and all(start <= horizon_end for start in late)


# --- DST: America/New_York springs forward 2026-03-08 and falls back 2026-11-01 ----------


def test_opening_hours_follow_the_wall_clock_across_spring_forward():
    before, switch = date(2026, 3, 7), date(2026, 3, 8)
    assert EVERY_DAY.windows_on(before)[0][0] == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # EST
    assert EVERY_DAY.windows_on(switch)[0][0] == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # EDT


def test_alternative_on_the_next_day_keeps_the_wall_clock_time_across_dst():
    now = datetime(2026, 3, 1, 8, tzinfo=NY)
    saturday = date(2026, 3, 7)
    full = [(at(saturday, 9), at(saturday, 18))]
    (found,) = nearest_free_slots(
        EVERY_DAY, wanted=at(saturday, 15), duration=HALF_HOUR, busy=full, now=now, count=1
    )
    assert found.astimezone(NY).time() == time(15)
    assert found == datetime(2026, 3, 8, 19, 0, tzinfo=UTC)  # 15:00 EDT, not 20:00Z


def test_fall_back_night_has_an_extra_hour_of_slots():
    night = Schedule(tz=NY, weekly={d: ((time(0), time(4)),) for d in range(7)})
    now = datetime(2026, 10, 20, tzinfo=UTC)
    quarter = timedelta(minutes=15)

    def slots_on(day: date) -> int:
        bounds = (at(day, 0), at(day + timedelta(days=1), 0))
        return len(free_starts(night, duration=quarter, busy=[], now=now, between=bounds))

    assert slots_on(date(2026, 10, 31)) == 16
    assert slots_on(date(2026, 11, 1)) == 20  # 00:00-04:00 EST/EDT is five real hours
    spring_now = datetime(2027, 3, 1, tzinfo=UTC)
    spring = (at(date(2027, 3, 14), 0), at(date(2027, 3, 15), 0))
    spring_slots = free_starts(night, duration=quarter, busy=[], now=spring_now, between=spring)
    assert len(spring_slots) == 12  # and three in spring


def test_a_booking_across_the_fall_back_hour_has_its_real_length():
    night = Schedule(tz=NY, weekly={6: ((time(0), time(4)),)})
    now = datetime(2026, 10, 20, tzinfo=UTC)
    start = at(date(2026, 11, 1), 0, 30)
    # 00:30 EDT + 2 h = 01:30 EST: inside the range by the wall clock and by real time.
    assert check_slot(night, start, start + timedelta(hours=2), [], now) is None
    too_long = start + timedelta(hours=4)  # 03:30 EST + ... crosses 04:00
    assert check_slot(night, start, too_long, [], now) == Refusal.OUTSIDE_HOURS
