"""Slot arithmetic: opening hours, overlaps and the nearest free alternatives.

Plain data in, plain data out (no ORM), so every provider reuses it: the native provider
feeds it our confirmed bookings, the Google provider adds the calendar's busy times.
All datetimes are aware; local wall-clock times become instants through the business's
IANA zone per day, so DST days get their real length.

A service may have its own rules (`ServiceRules`): the days and hours it is offered inside
the opening hours, a cleanup buffer after it that the next booking can't use, and its own
minimum notice. `Schedule.for_service(service_id)` is the schedule as that service sees it;
every function below then honours the rules, for a check and for the alternatives alike.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    # Open, but this service isn't offered then (its own days and hours).
    SERVICE_HOURS = "service_hours"
    TAKEN = "taken"
    # The provider's source of truth (e.g. Calendly) can't be reached or won't book now:
    # nothing was booked; the caller is told so and offered a message, never another time.
    UNAVAILABLE = "unavailable"
    # A booking to move or cancel is not as read back any more (staff changed it since):
    # nothing was written; the caller hears what it is now.
    CHANGED = "changed"


@dataclass(frozen=True)
class ServiceRules:
    """What one service allows beyond the business's hours and notice."""

    name: str
    # weekday (Monday=0) -> ranges it is offered, inside the opening hours; None: whenever open.
    weekly: Mapping[int, tuple[TimeRange, ...]] | None = None
    # Cleanup after each appointment: the next booking can't start before it is over.
    buffer: timedelta = timedelta(0)
    min_notice: timedelta | None = None  # None: the business's

    @property
    def restricts_hours(self) -> bool:
        return self.weekly is not None


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    weekly: Mapping[int, tuple[TimeRange, ...]]  # weekday (Monday=0) -> ranges
    exceptions: Mapping[date, tuple[TimeRange, ...]] = field(default_factory=dict)  # () closed
    min_notice: timedelta = timedelta(hours=1)
    horizon: timedelta = timedelta(days=60)
    # Rules of the services that have any, by service id.
    services: Mapping[int, ServiceRules] = field(default_factory=dict)
    # Set by for_service(): the service this schedule is seen by.
    service: ServiceRules | None = None

    def for_service(self, service_id: int | None) -> Schedule:
        """This schedule as one service sees it: its hours, buffer and notice apply."""
        rules = self.services.get(service_id) if service_id is not None else None
        if rules is None:
            return self if self.service is None else replace(self, service=None)
        notice = rules.min_notice if rules.min_notice is not None else self.min_notice
        return replace(self, service=rules, min_notice=notice)

    @property
    def buffer(self) -> timedelta:
        return self.service.buffer if self.service is not None else timedelta(0)

    def ranges_on(self, day: date) -> tuple[TimeRange, ...]:
        """The business's opening ranges that day (special days replace the weekday's)."""
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), ())

    def service_ranges_on(self, day: date) -> tuple[TimeRange, ...]:
        """The ranges the service is offered that day by its own rules (open or not)."""
        if self.service is None or self.service.weekly is None:
            return self.ranges_on(day)
        return self.service.weekly.get(day.weekday(), ())

    def bookable_ranges_on(self, day: date) -> tuple[TimeRange, ...]:
        """Opening ranges cut down to the service's own hours, when it has any."""
        opening = self.ranges_on(day)
        if self.service is None or self.service.weekly is None:
            return opening
        cut = []
        for opens, closes in opening:
            for s_opens, s_closes in self.service.weekly.get(day.weekday(), ()):
                low, high = max(opens, s_opens), min(closes, s_closes)
                if low < high:
                    cut.append((low, high))
        return tuple(sorted(cut))

    def windows_on(self, day: date) -> list[Interval]:
        """The day's bookable ranges (opening hours, within the service's own) as UTC instants."""
        return self.instants_on(day, self.bookable_ranges_on(day))

    def offers_on(self, day: date) -> bool:
        """Open that day, and the service (if it has days of its own) is offered then."""
        return bool(self.bookable_ranges_on(day))

    def instants_on(self, day: date, ranges: Iterable[TimeRange]) -> list[Interval]:
        return [(self._instant(day, opens), self._instant(day, closes)) for opens, closes in ranges]

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


def fits(windows: Iterable[Interval], start: datetime, end: datetime) -> bool:
    return any(opens <= start and end <= closes for opens, closes in windows)


def fits_opening_hours(schedule: Schedule, start: datetime, end: datetime) -> bool:
    """The whole appointment must sit inside one opening range of its day."""
    day = schedule.local_date(start)
    return fits(schedule.instants_on(day, schedule.ranges_on(day)), start, end)


def fits_service_hours(schedule: Schedule, start: datetime, end: datetime) -> bool:
    """...and inside one of the service's own ranges, when it has any (its cleanup buffer
    may run past them: cleaning up after closing is the business's affair)."""
    if schedule.service is None or not schedule.service.restricts_hours:
        return True
    day = schedule.local_date(start)
    return fits(schedule.instants_on(day, schedule.service_ranges_on(day)), start, end)


def check_slot(
    schedule: Schedule, start: datetime, end: datetime, busy: Sequence[Interval], now: datetime
) -> Refusal | None:
    """None when the slot can be booked, otherwise the first reason it cannot.

    `end` is the appointment's end; the service's buffer after it must be free as well
    (`busy` already holds other bookings' buffers)."""
    if start < now:
        return Refusal.PAST
    if start < schedule.earliest_start(now):
        return Refusal.TOO_SOON
    if start > schedule.latest_start(now):
        return Refusal.TOO_FAR
    if not schedule.is_open_on(schedule.local_date(start)):
        return Refusal.CLOSED_DAY
    # The service's own hours first: "we do colouring Tuesday to Saturday, 10 to 3" tells
    # the caller more than the opening hours would.
    if not fits_service_hours(schedule, start, end):
        return Refusal.SERVICE_HOURS
    if not fits_opening_hours(schedule, start, end):
        return Refusal.OUTSIDE_HOURS
    if overlaps(start, end + schedule.buffer, busy):
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
    """Every bookable start on the grid whose appointment fits inside `between`, in order
    (with the schedule's service rules: its hours, notice and buffer)."""
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
                if (
                    candidate >= earliest
                    and end <= latest
                    and not overlaps(candidate, end + schedule.buffer, busy)
                ):
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
