"""Reading the model's tool arguments: which service, which start, which phone number.

The prompt asks for 'YYYY-MM-DD HH:MM' in local time, but models also pass what the caller
said ("tomorrow at 3"), so anything else goes through the same spoken-time grammar as the
embedded receptionist (calls.understanding.when). A reading that can't be trusted is a
problem the model is told about, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from bookings.slots import Schedule
from calls.understanding.phones import extract_phone
from calls.understanding.services import ServiceName, match_service
from calls.understanding.when import parse_when, plausible_times

if TYPE_CHECKING:
    from bookings.models import Service

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class StartReading:
    start: datetime | None = None  # a precise start, aware, in the business's zone
    day: date | None = None  # a day without a time ("Friday", "Friday morning")
    window: tuple[time, time] | None = None
    problem: str | None = None  # why it can't be read, addressed to the model


def read_service(text: object, services: Sequence[Service]) -> Service | None:
    """The business's service the model named (exactly, or as a caller might say it)."""
    if not isinstance(text, str) or not text.strip():
        return None
    wanted = text.strip().lower()
    for service in services:
        if service.name.lower() == wanted:
            return service
    names = [ServiceName(id=s.pk, name=s.name, synonyms=s.synonym_list) for s in services]
    match = match_service(text, names)
    if match is None:
        return None
    return next((s for s in services if s.pk == match.id), None)


def read_start(text: object, *, schedule: Schedule, today: date) -> StartReading:
    if not isinstance(text, str) or not text.strip():
        return StartReading(problem="No start was given. Ask the caller for a day and a time.")
    text = text.strip()
    tz = schedule.tz
    if _DATE_ONLY.match(text):
        try:
            return StartReading(day=date.fromisoformat(text))
        except ValueError:
            pass
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                return StartReading(start=moment.replace(tzinfo=tz))
            return StartReading(start=moment.astimezone(tz))
    when = parse_when(text, today=today, expecting_time=True)
    unreadable = (
        f"Could not read {text!r} as a date and time. Ask the caller for the day and the time, "
        "and pass start as 'YYYY-MM-DD HH:MM' in local time."
    )
    no_day_or_time = when.day is None and when.days is None and when.time is None
    if when.unclear or (no_day_or_time and when.window is None):
        # "As soon as you can" or "an hour later" are not a start the tool can check.
        return StartReading(problem=unreadable)
    if when.past:
        return StartReading(problem="That day has already passed. Ask the caller for another day.")
    if when.day is None and when.days is not None:
        return StartReading(
            problem="That is several days, not one. Ask the caller which day they would like."
        )
    day = when.day or today
    if when.time is None:
        return StartReading(day=day, window=when.window)
    return StartReading(start=_resolve(day, when.time, when.ampm_explicit, schedule))


def _resolve(day: date, heard: time, explicit: bool, schedule: Schedule) -> datetime:
    """'At 3' means 3 PM at a salon: the reading inside opening hours wins (as embedded)."""
    ranges = schedule.ranges_on(day)
    candidates = plausible_times(heard, explicit)
    for candidate in candidates:
        if any(opens <= candidate < closes for opens, closes in ranges):
            return datetime.combine(day, candidate, tzinfo=schedule.tz)
    return datetime.combine(day, candidates[0], tzinfo=schedule.tz)


def read_phone(text: object) -> str | None:
    """A phone number the caller gave, as E.164, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    return extract_phone(text)
