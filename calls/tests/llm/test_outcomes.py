"""How a call with the LLM receptionist that changed nothing is recorded: questions answered,
or a read-back the caller said no to; not as a caller who hung up early."""

from __future__ import annotations

import pytest

from bookings.models import Booking
from calls.tests.llm.fake_openai import Reply, tool, words
from calls.tests.llm.line import call_record, open_line, say

pytestmark = pytest.mark.django_db(transaction=True)

READ_BACK = "A haircut for Ana Ruiz on Friday, November 27th at 3 PM. Shall I book it?"


async def test_questions_then_goodbye_is_recorded_as_answered(demo, fake):
    fake.script(
        Reply(tool("business_info", topic="hours", day="2026-11-27")),
        lambda request: Reply(words(request.tool_results()[-1]["say"])),
        Reply(words("You're welcome, goodbye!"), tool("end_call")),
    )
    session, line = await open_line(demo, "CAllmanswered")
    assert await say(session, line, "what time do you close on Friday?") == (
        "Friday we're open 9 AM to 6 PM."
    )
    await say(session, line, "great, thanks, bye")
    await session.wait_for_answer()
    await session.close()
    assert (await call_record("CAllmanswered")).outcome == "answered"


async def test_no_to_the_read_back_then_goodbye_is_recorded_as_declined(demo, fake):
    fake.script(
        Reply(tool("check_availability", service="Haircut", start="2026-11-27 15:00")),
        Reply(words(READ_BACK)),
        Reply(words("No problem, nothing's booked. Goodbye!"), tool("end_call")),
    )
    session, line = await open_line(demo, "CAllmdeclined")
    assert await say(session, line, "A haircut Friday at 3, I'm Ana Ruiz") == READ_BACK
    await say(session, line, "no, actually, I'll leave it")
    await session.wait_for_answer()
    await session.close()
    call = await call_record("CAllmdeclined")
    assert (call.outcome, call.booking) == ("declined", None)
    assert not await Booking.objects.aexists()


async def test_no_to_anything_else_after_a_question_is_answered_not_declined(demo, fake):
    fake.script(
        Reply(tool("business_info", topic="services")),
        lambda request: Reply(words(request.tool_results()[-1]["say"] + " Anything else?")),
        Reply(words("Okay, goodbye!"), tool("end_call")),
    )
    session, line = await open_line(demo, "CAllmnothing")
    await say(session, line, "what do you do there?")
    await say(session, line, "no, that's it")
    await session.wait_for_answer()
    await session.close()
    assert (await call_record("CAllmnothing")).outcome == "answered"
