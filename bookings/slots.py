"""Slot arithmetic: opening hours, overlaps and the nearest free alternatives.

Plain data in, plain data out (no ORM), so every provider reuses it: the native provider
feeds it our confirmed bookings, the Google provider adds the calendar's busy times.
All datetimes are aware; local wall-clock times become instants through the business's
IANA zone per day, so DST days get their real length.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

GRID = timedelta(minutes=15)
DEFAULT_ALTERNATIVES = 3

Interval = tuple[datetime, datetime]
TimeRange = tuple[time, time]


class Refusal(enum.StrEnum):
    """Why a slot cannot be booked. Values are stable: transcripts and tools carry them."""

    PAST = "past"
    TOO_SOON = "too_soon"
    TOO_FAR = "too_far"
    CLOSED_DAY = "closed_day"
    OUTSIDE_HOURS = "outside_hours"
    TAKEN = "taken"


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    weekly: Mapping[int, tuple[TimeRange, ...]]  # weekday (Monday=0) -> ranges
    exceptions: Mapping[date, tuple[TimeRange, ...]] = field(default_factory=dict)  # () closed
    min_notice: timedelta = timedelta(hours=1)
    horizon: timedelta = timedelta(days=60)

    def ranges_on(self, day: date) -> tuple[TimeRange, ...]:
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), ())

    def windows_on(self, day: date) -> list[Interval]:
        """The day's opening ranges as UTC instants."""
        return [
            (self._instant(day, opens), self._instant(day, closes))
            for opens, closes in self.ranges_on(day)
        ]

    def is_open_on(self, day: date) -> bool:
        return bool(self.ranges_on(day))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def earliest_start(self, now: datetime) -> datetime:
        return now + self.min_notice

    def latest_start(self, now: datetime) -> datetime:
        return now + self.horizon

    def _instant(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC)


def overlaps(start: datetime, end: datetime, busy: Iterable[Interval]) -> bool:
    """Half-open intervals: a booking ending at 15:00 does not clash with one starting then."""
    return any(b_start < end and start < b_end for b_start, b_end in busy)


def fits_opening_hours(schedule: Schedule, start: datetime, end: datetime) -> bool:
    """The whole appointment must sit inside one opening range of its day."""
    return any(
        opens <= start and end <= closes
        for opens, closes in schedule.windows_on(schedule.local_date(start))
    )


def check_slot(
    schedule: Schedule, start: datetime, end: datetime, busy: Sequence[Interval], now: datetime
) -> Refusal | None:
    """None when the slot can be booked, otherwise the first reason it cannot."""
    if start < now:
        return Refusal.PAST
    if start < schedule.earliest_start(now):
        return Refusal.TOO_SOON
    if start > schedule.latest_start(now):
        return Refusal.TOO_FAR
    if not schedule.is_open_on(schedule.local_date(start)):
        return Refusal.CLOSED_DAY
    if not fits_opening_hours(schedule, start, end):
        return Refusal.OUTSIDE_HOURS
    if overlaps(start, end, busy):
        return Refusal.TAKEN
    return None


def free_starts(
    schedule: Schedule,
    *,
    duration: timedelta,
    busy: Sequence[Interval],
    now: datetime,
    between: Interval,
    grid: timedelta = GRID,
) -> list[datetime]:
    """Every bookable start on the grid whose appointment fits inside `between`, in order."""
    low, high = between
    earliest = max(low, schedule.earliest_start(now))
    latest = min(high, schedule.latest_start(now) + duration)
    starts: list[datetime] = []
    day = schedule.local_date(earliest)
    while earliest < latest and day <= schedule.local_date(latest):
        for opens, closes in schedule.windows_on(day):
            candidate = opens
            while candidate + duration <= closes:
                end = candidate + duration
                if candidate >= earliest and end <= latest and not overlaps(candidate, end, busy):
                    starts.append(candidate)
                candidate += grid
        day += timedelta(days=1)
    return starts


def nearest_free_slots(
    schedule: Schedule,
    *,
    wanted: datetime,
    duration: timedelta,
    busy: Sequence[Interval],
    now: datetime,
    count: int = DEFAULT_ALTERNATIVES,
    grid: timedelta = GRID,
) -> list[datetime]:
    """Free starts nearest the wanted one: that day first (closest in time, earlier on a tie),
    then each following day (closest to the same wall-clock time), up to the horizon."""
    first_day = max(schedule.local_date(wanted), schedule.local_date(now))
    last_day = schedule.local_date(schedule.latest_start(now))
    wanted_wall = wanted.astimezone(schedule.tz).time()
    found: list[datetime] = []
    day = first_day
    while day <= last_day and len(found) < count:
        day_start = datetime.combine(day, time.min, tzinfo=schedule.tz)
        day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=schedule.tz)
        starts = free_starts(
            schedule, duration=duration, busy=busy, now=now, between=(day_start, day_end), grid=grid
        )
        target = (
            wanted
            if day == schedule.local_date(wanted)
            else datetime.combine(day, wanted_wall, tzinfo=schedule.tz)
        )
        starts.sort(key=lambda s: (abs(s - target), s))
        found.extend(starts[: count - len(found)])
        day += timedelta(days=1)
    return found
