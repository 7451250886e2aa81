"""Refusals in a receptionist's words, for a service's own rules (no database)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.slots import Refusal, Schedule, ServiceRules
from calls.dialogue.speech import explain_refusal, say_notice

NY = ZoneInfo("America/New_York")
HOURS = {d: ((time(9), time(18)),) for d in range(6)}
COLOURING = ServiceRules(
    name="Hair colouring",
    weekly={d: ((time(10), time(15)),) for d in range(1, 6)},
    min_notice=timedelta(days=2),
)
SPLIT = ServiceRules(
    name="Perm", weekly={0: ((time(9), time(12)),), 3: ((time(9), time(12)), (time(14), time(17)))}
)
SCHEDULE = Schedule(tz=NY, weekly=HOURS, services={1: COLOURING, 2: SPLIT})
TODAY = date(2026, 11, 23)  # a Monday


def at(day: int, hour: int) -> datetime:
    return datetime.combine(date(2026, 11, day), time(hour), tzinfo=NY)


def explain(reason, start, service_id):
    return explain_refusal(reason, start, schedule=SCHEDULE.for_service(service_id), today=TODAY)


@pytest.mark.parametrize(
    ("reason", "start", "service", "words"),
    [
        (
            Refusal.SERVICE_HOURS,
            at(23, 11),
            1,
            "I'm sorry, we do hair colouring Tuesday to Saturday, 10 AM to 3 PM.",
        ),
        (
            Refusal.SERVICE_HOURS,
            at(24, 14),
            1,
            "I'm sorry, we do hair colouring Tuesday to Saturday, 10 AM to 3 PM, start to finish.",
        ),
        (
            Refusal.SERVICE_HOURS,
            at(24, 10),
            2,
            "I'm sorry, we do perm Monday, 9 AM to noon and Thursday, 9 AM to noon and "
            "2 PM to 5 PM.",
        ),
        (
            Refusal.TOO_SOON,
            at(24, 11),
            1,
            "I'm sorry, we need at least 2 days notice for hair colouring.",
        ),
        (Refusal.TOO_SOON, at(23, 11), None, "I'm sorry, we need at least 1 hour notice."),
        (Refusal.CLOSED_DAY, at(29, 11), 1, "I'm sorry, we're closed on Sundays."),
    ],
)
def test_a_refusal_names_the_services_own_rule(reason, start, service, words):
    assert explain(reason, start, service) == words


def test_notice_is_said_in_the_unit_a_person_would_use():
    assert [say_notice(timedelta(minutes=m)) for m in (30, 60, 90, 120, 24 * 60, 48 * 60)] == [
        "30 minutes",
        "1 hour",
        "90 minutes",
        "2 hours",
        "24 hours",
        "2 days",
    ]
