"""The schedule staff look at: a day or a week of one business as a time grid, in the
business's own zone. Plain data for the template; positions are in minutes of local wall
time, so a booking at 10:00 sits on the 10:00 line on DST days too (each day is placed
through its own UTC offset, never the first day's)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bookings.models import Booking, Business, DateException
from bookings.slots import Interval

logger = logging.getLogger(__name__)

DEFAULT_HOURS = (9, 18)  # the axis when nothing is open or booked in the range
WEEK = 7


@dataclass
class Block:
    """Something drawn on a day: a booking, or a busy time from an outside calendar."""

    start: datetime  # local
    end: datetime  # local
    top: int = 0  # minutes from the axis start
    height: int = 0  # minutes
    lane: int = 0
    lanes: int = 1
    booking: Booking | None = None

    @property
    def label_time(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass
class Day:
    date: date
    is_today: bool
    opening: list[tuple[int, int]] = field(default_factory=list)  # (top, height) minutes
    hours_text: str = ""
    special: DateException | None = None
    bookings: list[Block] = field(default_factory=list)
    busy: list[Block] = field(default_factory=list)
    zone: str = ""  # the zone's abbreviation that day (EST / EDT)
    url: str = ""  # the day's own page, filled in by the view


@dataclass
class ScheduleView:
    business: Business
    first: date
    days: list[Day]
    axis_start: int  # minutes after local midnight
    axis_end: int
    busy_status: str  # "none" (no outside calendar), "ok", "unavailable"

    @property
    def hours(self) -> list[tuple[int, str]]:
        """(top, label) of each hour line."""
        return [
            (minute - self.axis_start, f"{minute // 60:02d}:00")
            for minute in range(self.axis_start, self.axis_end, 60)
        ]

    @property
    def height(self) -> int:
        return self.axis_end - self.axis_start


def day_bounds(business: Business, day: date) -> Interval:
    """Local midnight to the next local midnight, as instants (23 or 25 hours on DST days)."""
    tz = business.tz
    return (
        datetime.combine(day, time(0), tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
    )


def minutes_into_day(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def build(
    business: Business,
    first: date,
    days: int,
    *,
    today: date,
    busy: list[Interval] | None = (),
) -> ScheduleView:
    """The schedule of `days` days from `first`. `busy`: the outside calendar's busy times
    over the range (() none, None could not be read)."""
    tz = business.tz
    start, _ = day_bounds(business, first)
    _, end = day_bounds(business, first + timedelta(days=days - 1))
    weekly: dict[int, list[tuple[time, time]]] = {}
    for hours in business.opening_hours.all():
        weekly.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    specials: dict[date, list[DateException]] = {}
    for special in business.exceptions.filter(date__gte=first, date__lt=first + timedelta(days)):
        specials.setdefault(special.date, []).append(special)
    bookings = list(
        Booking.objects.filter(business=business, start__lt=end, end__gt=start)
        .select_related("service")
        .order_by("start", "pk")
    )
    ours = [(b.start, b.end) for b in bookings if b.status == Booking.Status.CONFIRMED]

    schedule_days = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        day_start, day_end = day_bounds(business, day)
        entry = Day(date=day, is_today=day == today, zone=day_start.tzname() or "")
        ranges = _ranges(day, weekly, specials.get(day))
        entry.special = (specials.get(day) or [None])[0]
        entry.opening = [(minutes_into_day_time(o), minutes_into_day_time(c)) for o, c in ranges]
        entry.hours_text = (
            ", ".join(f"{o:%H:%M}-{c:%H:%M}" for o, c in ranges) if ranges else "Closed"
        )
        entry.bookings = [
            _block(b.start, b.end, tz, day_start, day_end, booking=b)
            for b in bookings
            if b.start < day_end and b.end > day_start
        ]
        for busy_start, busy_end in busy or ():
            if (
                busy_start < day_end
                and busy_end > day_start
                and not _covered((busy_start, busy_end), ours)
            ):
                entry.busy.append(_block(busy_start, busy_end, tz, day_start, day_end))
        _assign_lanes(entry.bookings)
        schedule_days.append(entry)

    axis_start, axis_end = _axis(schedule_days)
    for entry in schedule_days:
        entry.opening = [(o - axis_start, c - o) for o, c in entry.opening]
        for block in [*entry.bookings, *entry.busy]:
            # Clipped to the axis: a block outside it (a late-night event) still shows at
            # the edge rather than off the grid.
            top = min(max(block.top - axis_start, 0), axis_end - axis_start - 15)
            block.height = max(min(block.height, axis_end - axis_start - top), 15)
            block.top = top
    return ScheduleView(
        business=business,
        first=first,
        days=schedule_days,
        axis_start=axis_start,
        axis_end=axis_end,
        busy_status="unavailable" if busy is None else ("ok" if busy else "none"),
    )


def minutes_into_day_time(wall: time) -> int:
    return wall.hour * 60 + wall.minute


def _ranges(
    day: date, weekly: dict[int, list[tuple[time, time]]], specials: list[DateException] | None
) -> list[tuple[time, time]]:
    if specials:
        return sorted((s.opens, s.closes) for s in specials if not s.closed)
    return sorted(weekly.get(day.weekday(), []))


def _block(
    start: datetime, end: datetime, tz, day_start: datetime, day_end: datetime, **kwargs
) -> Block:
    """Placed by local wall time of its start; as tall as it really lasts (within the day)."""
    shown_start, shown_end = max(start, day_start), min(end, day_end)
    local_start = shown_start.astimezone(tz)
    return Block(
        start=start.astimezone(tz),
        end=end.astimezone(tz),
        top=minutes_into_day(local_start),
        height=int((shown_end - shown_start).total_seconds() // 60),
        **kwargs,
    )


def _covered(interval: Interval, ours: list[Interval]) -> bool:
    """A busy time that is one of our own bookings (its calendar event) is not shown twice."""
    start, end = interval
    return any(o_start <= start and end <= o_end for o_start, o_end in ours)


def _assign_lanes(blocks: list[Block]) -> None:
    """Overlapping bookings (a cancelled one under its replacement) sit side by side."""
    cluster: list[Block] = []
    lane_ends: list[int] = []
    cluster_end = 0
    for block in sorted(blocks, key=lambda b: (b.top, -b.height)):
        if cluster and block.top >= cluster_end:
            _close(cluster, len(lane_ends))
            cluster, lane_ends, cluster_end = [], [], 0
        lane = next((i for i, end in enumerate(lane_ends) if end <= block.top), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(0)
        lane_ends[lane] = block.top + block.height
        block.lane = lane
        cluster.append(block)
        cluster_end = max(cluster_end, block.top + block.height)
    if cluster:
        _close(cluster, len(lane_ends))


def _close(cluster: list[Block], lanes: int) -> None:
    for block in cluster:
        block.lanes = lanes


def _axis(days: list[Day]) -> tuple[int, int]:
    """Whole hours covering every day's opening hours and blocks."""
    starts, ends = [], []
    for day in days:
        for opens, closes in day.opening:
            starts.append(opens)
            ends.append(closes)
        for block in [*day.bookings, *day.busy]:
            starts.append(block.top)
            ends.append(block.top + block.height)
    if not starts:
        return DEFAULT_HOURS[0] * 60, DEFAULT_HOURS[1] * 60
    first = min(starts) // 60 * 60
    last = -(-max(ends) // 60) * 60
    return max(first, 0), min(max(last, first + 60), 24 * 60)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
