"""Words for text-to-speech: times, days and lists as a receptionist says them.

No symbols or markdown: "3 PM", "3:30 PM", "noon", "Tuesday, November 24th", "A, B or C".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from bookings.slots import Refusal, Schedule, TimeRange

DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
PLURAL_DAYS = [f"{name}s" for name in DAY_NAMES]


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def say_time(t: time | datetime) -> str:
    if isinstance(t, datetime):
        t = t.time()
    if t == time(12):
        return "noon"
    if t == time(0):
        return "midnight"
    hour = t.hour % 12 or 12
    half = "AM" if t.hour < 12 else "PM"
    return f"{hour} {half}" if t.minute == 0 else f"{hour}:{t.minute:02d} {half}"


def say_date(day: date) -> str:
    """Always the full form, for read-backs: 'Tuesday, November 24th'."""
    return f"{DAY_NAMES[day.weekday()]}, {day:%B} {ordinal(day.day)}"


def say_day(day: date, today: date) -> str:
    """The short form for offers: 'today', 'tomorrow', 'Friday' (this week), else the full one."""
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    if today < day < today + timedelta(days=7):
        return DAY_NAMES[day.weekday()]
    return say_date(day)


def say_window(window: tuple[time, time]) -> str:
    """A part of the day as the caller said it: 'in the morning', 'after 3 PM'."""
    names = {
        (time(9), time(12)): "in the morning",
        (time(12), time(17)): "in the afternoon",
        (time(17), time(21)): "in the evening",
        (time(11, 30), time(14)): "around lunchtime",
    }
    start, end = window
    if window in names:
        return names[window]
    if start == time(0):
        return f"before {say_time(end)}"
    if end >= time(23, 59):
        return f"after {say_time(start)}"
    return f"between {say_time(start)} and {say_time(end)}"


def on_day(words: str) -> str:
    """ "on Friday", "on Friday, November 27th", but "today" and "tomorrow" alone: the one
    place a day said after "on" ("What time on today?") is made right."""
    return words if words in ("today", "tomorrow") else f"on {words}"


def say_slot(moment: datetime, today: date, *, full: bool = False) -> str:
    day = moment.date()
    words = say_date(day) if full else say_day(day, today)
    return f"{words} at {say_time(moment)}"


def say_list(items: Sequence[str], conjunction: str = "or") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def say_offers(offers: Sequence[datetime], today: date, *, full: bool = False) -> str:
    """'2:30 PM or 3:30 PM today, or tomorrow at 3 PM': grouped by day, in the given order.
    `full` says every day as a date ('Friday, November 27th')."""
    groups: dict[date, list[datetime]] = {}
    for moment in offers:
        groups.setdefault(moment.date(), []).append(moment)
    parts = []
    for day, moments in groups.items():
        times = say_list([say_time(m) for m in moments])
        parts.append(f"{say_date(day) if full else say_day(day, today)} at {times}")
    return say_list(parts)


def _day_runs(
    weekly: Mapping[int, tuple[TimeRange, ...]],
) -> list[tuple[int, int, tuple[TimeRange, ...]]]:
    """Consecutive weekdays with the same ranges, as (first, last, ranges)."""
    runs: list[tuple[int, int, tuple[TimeRange, ...]]] = []
    for weekday in range(7):
        ranges = weekly.get(weekday, ())
        if runs and runs[-1][2] == ranges and runs[-1][1] == weekday - 1:
            runs[-1] = (runs[-1][0], weekday, ranges)
        else:
            runs.append((weekday, weekday, ranges))
    return runs


def _say_days(first: int, last: int) -> str:
    return DAY_NAMES[first] if first == last else f"{DAY_NAMES[first]} to {DAY_NAMES[last]}"


def _say_ranges(ranges: Sequence[TimeRange]) -> str:
    return say_list([f"{say_time(o)} to {say_time(c)}" for o, c in ranges], "and")


def say_hours(weekly: Mapping[int, tuple[TimeRange, ...]]) -> str:
    """'Monday to Friday 9 AM to 6 PM, Saturday 10 AM to 4 PM, closed Sunday.'"""
    parts = []
    for first, last, ranges in _day_runs(weekly):
        days = _say_days(first, last)
        if not ranges:
            days = PLURAL_DAYS[first] if first == last else days
            parts.append(f"closed {days}")
            continue
        parts.append(f"{days} {_say_ranges(ranges)}")
    return say_list(parts, "and") + "."


def say_offered_hours(weekly: Mapping[int, tuple[TimeRange, ...]]) -> str:
    """When a service is offered: 'Tuesday to Saturday, 10 AM to 3 PM' (days without it
    left out)."""
    parts = [
        f"{_say_days(first, last)}, {_say_ranges(ranges)}"
        for first, last, ranges in _day_runs(weekly)
        if ranges
    ]
    return say_list(parts, "and")


def say_notice(notice: timedelta) -> str:
    """'2 hours', '30 minutes', '2 days'."""
    minutes = int(notice.total_seconds() // 60)
    if minutes >= 48 * 60 and minutes % (24 * 60) == 0:
        amount, unit = minutes // (24 * 60), "day"
    elif minutes >= 60 and minutes % 60 == 0:
        amount, unit = minutes // 60, "hour"
    elif minutes > 0:
        amount, unit = minutes, "minute"
    else:
        return "a little"
    return f"{amount} {unit}{'s' if amount != 1 else ''}"


UNAVAILABLE_WORDS = (
    "I'm sorry, I can't reach our booking calendar right now, so I can't book anything on "
    "this call."
)


def explain_refusal(
    reason: Refusal | None, start: datetime, *, schedule: Schedule, today: date
) -> str:
    """Why a time can't be booked, in the words a receptionist would use (both engines:
    the embedded one says it, the LLM one hands it to the model as a tool result).
    `schedule` as the service sees it (Schedule.for_service) speaks of its own hours and
    notice."""
    local = start.astimezone(schedule.tz)
    service = schedule.service
    if reason == Refusal.SERVICE_HOURS or (
        reason == Refusal.CLOSED_DAY
        and schedule.is_open_on(local.date())
        and not schedule.offers_on(local.date())
    ):
        if service is not None and service.weekly:
            hours = f"we do {service.name.lower()} {say_offered_hours(service.weekly)}"
            if schedule.offers_on(local.date()):
                # The day is right, the appointment would run past its hours.
                return f"I'm sorry, {hours}, start to finish."
            return f"I'm sorry, {hours}."
        return "I'm sorry, we don't do that then."
    if reason == Refusal.TAKEN:
        return f"I'm sorry, {say_slot(local, today)} is already booked."
    if reason == Refusal.UNAVAILABLE:
        return UNAVAILABLE_WORDS
    if reason == Refusal.CLOSED_DAY:
        if local.date() in schedule.exceptions:
            return f"I'm sorry, we're closed on {say_date(local.date())}."
        return f"I'm sorry, we're closed on {PLURAL_DAYS[local.weekday()]}."
    if reason == Refusal.OUTSIDE_HOURS:
        hours = _say_ranges(schedule.ranges_on(local.date()))
        day = on_day(say_day(local.date(), today))
        day = day[:1].upper() + day[1:]
        return f"I'm sorry, that's outside our hours. {day} we're open {hours}."
    if reason == Refusal.PAST:
        return "That time has already passed."
    if reason == Refusal.TOO_SOON:
        notice = say_notice(schedule.min_notice)
        if service is not None and service.min_notice is not None:
            return f"I'm sorry, we need at least {notice} notice for {service.name.lower()}."
        return f"I'm sorry, we need at least {notice} notice."
    if reason == Refusal.TOO_FAR:
        return f"I'm sorry, we only take bookings up to {schedule.horizon.days} days ahead."
    return "I'm sorry, that time isn't available."
