"""Why a time can't be booked, in the words a receptionist would use (for the tool results,
so the model passes on a reason rather than inventing one)."""

from __future__ import annotations

from datetime import date, datetime

from bookings.slots import Refusal, Schedule
from calls.dialogue.speech import PLURAL_DAYS, say_date, say_day, say_list, say_slot, say_time


def explain_refusal(
    reason: Refusal | None, start: datetime, *, schedule: Schedule, today: date
) -> str:
    local = start.astimezone(schedule.tz)
    if reason == Refusal.TAKEN:
        return f"I'm sorry, {say_slot(local, today)} is already booked."
    if reason == Refusal.CLOSED_DAY:
        if local.date() in schedule.exceptions:
            return f"I'm sorry, we're closed on {say_date(local.date())}."
        return f"I'm sorry, we're closed on {PLURAL_DAYS[local.weekday()]}."
    if reason == Refusal.OUTSIDE_HOURS:
        hours = say_list(
            [f"{say_time(o)} to {say_time(c)}" for o, c in schedule.ranges_on(local.date())],
            "and",
        )
        return (
            f"I'm sorry, that's outside our hours. On {say_day(local.date(), today)} "
            f"we're open {hours}."
        )
    if reason == Refusal.PAST:
        return "That time has already passed."
    if reason == Refusal.TOO_SOON:
        hours = int(schedule.min_notice.total_seconds() // 3600)
        notice = f"{hours} hour{'s' if hours != 1 else ''}" if hours else "a little"
        return f"I'm sorry, we need at least {notice} notice."
    if reason == Refusal.TOO_FAR:
        return f"I'm sorry, we only take bookings up to {schedule.horizon.days} days ahead."
    return "I'm sorry, that time isn't available."
