"""Callers talking to the embedded receptionist of a business that books through Calendly:
the times offered are Calendly's, and when Calendly can't be reached the caller hears so and
leaves a message (nothing is booked here)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking, Service
from bookings.tests.timeutil import upcoming
from calls.tests.conversation import Conversation

pytestmark = pytest.mark.django_db(transaction=True)

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@sync_to_async
def booking_count(business) -> int:
    return Booking.objects.filter(business=business).count()


def month_day(day: date) -> str:
    return f"{day:%B} {day.day}"


async def test_a_vague_day_is_offered_calendlys_times(salon, fake_calendly):
    day = upcoming(salon, 2)  # a Wednesday: we open 9 to 6, the Calendly host works 2 to 5
    fake_calendly.hours[2] = (14, 17)
    call = await Conversation.start(salon)

    answer = await call.say(
        f"Hi, this is Maria, can I get a haircut on {month_day(day)} in the afternoon?"
    )

    # Our hours would allow noon; Calendly's first afternoon time is 2.
    assert "2 PM" in answer, call
    assert "12 PM" not in answer and "1 PM" not in answer, call


async def test_calendly_down_the_caller_hears_it_and_leaves_a_message(salon, fake_calendly):
    day = upcoming(salon, 2)
    fake_calendly.fail("/event_type_available_times", 503, times=100)
    call = await Conversation.start(salon)

    answer = await call.say(f"Hi, this is Sam, a haircut on {month_day(day)} at 3 please")

    assert "can't reach our booking calendar" in answer, call
    assert "leave a message" in answer, call
    assert "free" not in answer  # no other time is offered: none is known
    assert "pass on" in await call.say("yes please")
    assert "get your message" in await call.say("Please call me back about a haircut, it's Sam")
    assert call.engine.state.outcome == "message_taken"
    assert await booking_count(salon) == 0


async def test_calendly_down_for_a_vague_request_is_said_honestly_too(salon, fake_calendly):
    day = upcoming(salon, 2)
    fake_calendly.fail("/event_type_available_times", 503, times=100)
    call = await Conversation.start(salon)

    answer = await call.say(f"Can I get a haircut on {month_day(day)} in the afternoon?")

    assert "can't reach our booking calendar" in answer, call
    assert "don't have anything free" not in answer, call


async def test_times_across_the_spring_dst_change_stay_on_the_wall_clock(salon, fake_calendly):
    from integrations.calendly.provider import CalendlyProvider

    haircut = await sync_to_async(Service.objects.get)(business=salon, name="Haircut")
    provider = CalendlyProvider(salon, options=CalendlyProvider.clean_options({}))
    # US clocks go forward on Sunday 14 March 2027: Friday's 9 AM is 14:00 UTC, Monday's 13:00.
    friday, monday = date(2027, 3, 12), date(2027, 3, 15)
    if datetime.now(UTC).date() >= friday:
        pytest.skip("the 2027 change is in the past")

    starts = await provider.free_starts(
        service=haircut,
        start=datetime(2027, 3, 12, tzinfo=salon.tz),
        end=datetime(2027, 3, 16, tzinfo=salon.tz),
        limit=1000,
    )

    first = {s.astimezone(salon.tz).date(): s for s in reversed(starts)}
    assert first[friday].astimezone(UTC).hour == 14
    assert first[monday].astimezone(UTC).hour == 13
    assert {first[d].astimezone(salon.tz).hour for d in (friday, monday)} == {9}
