"""Moves said the way callers say them, through the fake model server: by the day only ("move
it to Friday"), by the time only ("make it 4 instead"), by an offset from the booking's own
time ("push it back 30 minutes"). The desk checks the new time with the booking out of its own
way, reads both times back, and moves only what the caller heard and said yes to; a model
that reads back one booking and moves another, or moves to a time nobody checked, is refused.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from bookings.tests.factories import BookingFactory, acreate
from calls.tests.conversation import CALLER, Conversation, local
from calls.tests.llm.fake_openai import Reply, tool, words

pytestmark = pytest.mark.django_db(transaction=True)


async def holding(demo, service: str, *start, phone: str = CALLER) -> Booking:
    row = await sync_to_async(demo.services.get)(name=service)
    return await acreate(
        BookingFactory, service=row, start=local(demo, *start), customer_phone=phone
    )


@sync_to_async
def rows(business) -> set[tuple[str, str, object]]:
    return {
        (b.service.name, b.status, b.start)
        for b in Booking.objects.filter(business=business).select_related("service")
    }


def check(service: str, start: str, booking: Booking) -> Reply:
    return Reply(
        tool("find_my_booking"),
        tool("check_availability", service=service, start=start, booking_id=booking.pk),
    )


def said_back(request) -> Reply:
    """The model reads back the desk's own words for the move."""
    return Reply(words(request.tool_results()[-1]["read_back"]))


def move(booking: Booking, new_start: str) -> Reply:
    return Reply(tool("move_booking", booking_id=booking.pk, new_start=new_start))


def result(request) -> dict:
    return request.tool_results()[-1]


async def test_move_it_to_friday_keeps_its_time_of_day(demo, fake):
    monday = await holding(demo, "Haircut", 2026, 11, 30, 14)
    fake.script(
        check("Haircut", "2026-11-27 14:00", monday),
        said_back,
        move(monday, "2026-11-27 14:00"),
        Reply(words("Done, see you Friday. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("Hi, I've got a haircut Monday, can you move it to Friday?")
    assert answer == (
        "Your haircut on Monday, November 30th at 2 PM moves to Friday, November 27th at 2 PM. "
        "Shall I move it?"
    )
    await call.say("yes please")
    assert result(fake.requests[3])["moved"] is True
    assert await rows(demo) == {
        ("Haircut", "cancelled", local(demo, 2026, 11, 30, 14)),
        ("Haircut", "confirmed", local(demo, 2026, 11, 27, 14)),
    }
    assert call.engine.state.outcome == "moved"


async def test_make_it_4_instead_keeps_its_day(demo, fake):
    friday = await holding(demo, "Beard trim", 2026, 11, 27, 11)
    fake.script(
        check("Beard trim", "2026-11-27 16:00", friday),
        said_back,
        move(friday, "2026-11-27 16:00"),
        Reply(words("All done. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("my beard trim on Friday, can you make it 4 instead?")
    assert "Your beard trim on Friday, November 27th at 11 AM moves to Friday" in answer
    assert "at 4 PM" in answer
    await call.say("yep")
    assert await rows(demo) == {
        ("Beard trim", "cancelled", local(demo, 2026, 11, 27, 11)),
        ("Beard trim", "confirmed", local(demo, 2026, 11, 27, 16)),
    }


async def test_push_it_back_30_minutes_counts_from_its_own_time(demo, fake):
    manicure = await holding(demo, "Manicure", 2026, 11, 30, 15)
    fake.script(
        check("Manicure", "2026-11-30 15:30", manicure),
        said_back,
        move(manicure, "2026-11-30 15:30"),
        Reply(words("Done. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("could you push my manicure back 30 minutes?")
    assert answer == (
        "Your manicure on Monday, November 30th at 3 PM moves to Monday, November 30th at "
        "3:30 PM. Shall I move it?"
    )
    await call.say("yes")
    assert await rows(demo) == {
        ("Manicure", "cancelled", local(demo, 2026, 11, 30, 15)),
        ("Manicure", "confirmed", local(demo, 2026, 11, 30, 15, 30)),
    }


async def test_push_it_back_into_a_taken_time_is_refused_and_keeps_the_booking(demo, fake):
    manicure = await holding(demo, "Manicure", 2026, 11, 30, 15)
    # The next caller is in at 4, so half an hour later (3:30-4:15) is taken; the two never
    # overlap, as Postgres's exclusion constraint insists.
    await holding(demo, "Manicure", 2026, 11, 30, 16, phone="+15555550111")
    fake.script(
        check("Manicure", "2026-11-30 15:30", manicure),
        # The model ignores the tool and reads the move back anyway...
        Reply(
            words(
                "Your manicure on Monday, November 30th at 3 PM moves to Monday, November 30th "
                "at 3:30 PM. Shall I move it?"
            )
        ),
        move(manicure, "2026-11-30 15:30"),
        Reply(words("Sorry, that time is taken.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("push my manicure back half an hour")
    checked = fake.requests[1].tool_results()[-1]
    assert checked["available"] is False and checked["reason"] == "taken"
    assert checked["alternatives"]
    await call.say("yes")
    assert "not just been checked" in result(fake.requests[3]).get("error", "")
    assert ("Manicure", "confirmed", local(demo, 2026, 11, 30, 15)) in await rows(demo)
    assert call.engine.state.outcome != "moved"


async def test_a_move_to_another_time_than_read_back_is_refused(demo, fake):
    friday = await holding(demo, "Haircut", 2026, 11, 27, 11)
    fake.script(
        check("Haircut", "2026-11-27 16:00", friday),
        said_back,
        move(friday, "2026-11-27 16:30"),  # not the time the caller heard (nor checked)
        Reply(words("Sorry, let me check that again.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("my haircut on Friday, make it 4 instead")
    await call.say("yes")
    assert "not just been checked" in result(fake.requests[3]).get("error", "")
    assert await rows(demo) == {("Haircut", "confirmed", local(demo, 2026, 11, 27, 11))}


async def test_an_offset_move_read_back_for_the_other_booking_is_refused(demo, fake):
    saturday = await holding(demo, "Haircut", 2026, 11, 28, 14)
    monday = await holding(demo, "Haircut", 2026, 11, 30, 15)
    fake.script(
        check("Haircut", "2026-11-30 15:30", monday),
        # The caller hears about Saturday's haircut; the model moves Monday's.
        Reply(
            words(
                "Your haircut on Saturday, November 28th at 2 PM moves to Monday, November "
                "30th at 3:30 PM. Shall I move it?"
            )
        ),
        move(monday, "2026-11-30 15:30"),
        Reply(words("Sorry, which one was it?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("push my Monday haircut back 30 minutes")
    await call.say("yes")
    assert "Not done" in result(fake.requests[3]).get("error", "")
    assert await rows(demo) == {
        ("Haircut", "confirmed", saturday.start),
        ("Haircut", "confirmed", monday.start),
    }


async def test_what_time_was_my_booking_on_monday(demo, fake):
    await holding(demo, "Manicure", 2026, 11, 30, 15)
    await holding(demo, "Haircut", 2026, 12, 4, 11)
    fake.script(
        Reply(tool("business_info", topic="my_bookings", day="2026-11-30")),
        lambda request: Reply(words(request.tool_results()[-1]["say"])),
    )
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("I booked something for Monday, what time was it again?")
    assert answer == "Your manicure is on Monday, November 30th at 3 PM."
    assert call.engine.state.outcome == "answered"


async def test_the_prompt_says_how_a_move_is_counted_from_the_booking(demo, fake):
    fake.script(Reply(words("Hello! How can I help?")))
    call = await Conversation.start(demo, engine="llm")
    await call.say("Hello?")
    prompt = fake.requests[0].messages[0]["content"]
    assert '"move it to Friday" keeps its time of day' in prompt
    assert '"push it back 30 minutes" is 30 minutes after its current start' in prompt
