"""How a call with the LLM receptionist ends: a person, a message, a goodbye."""

from __future__ import annotations

import asyncio

import pytest

from bookings.models import Booking
from calls.tests.conversation import CALLER, Conversation
from calls.tests.llm.fake_openai import Reply, tool, words
from calls.tests.llm.line import call_record, open_line, say

pytestmark = pytest.mark.django_db(transaction=True)


def error_seen(request) -> str:
    return request.tool_results()[-1].get("error", "")


async def test_a_person_or_a_message(demo, fake):
    fake.script(
        Reply(tool("transfer_to_person")),
        Reply(words("Of course, putting you through now.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Can I talk to a person?")
    # The demo salon has no transfer number: the tool says so, and nothing ends.
    assert "Nobody is available" in error_seen(fake.requests[1])
    assert call.engine.ending is None

    fake.script(
        Reply(tool("take_message", message="Please call me back about prices", caller_name="Jo")),
        Reply(),  # the model says nothing more: the receptionist's own goodbye is used
    )
    answer = await call.say("Then take a message: please call me back about prices. I'm Jo.")
    assert answer == "Thank you, I'll make sure they get your message. Goodbye!"
    assert call.engine.state.message == f"From Jo ({CALLER}): Please call me back about prices"
    assert (call.engine.state.outcome, call.engine.ending.reason) == ("message_taken", "message")


async def test_a_goodbye_with_end_call_ends_the_call_without_asking_the_model_again(demo, fake):
    fake.script(Reply(words("Thanks for calling, goodbye!"), tool("end_call")))
    call = await Conversation.start(demo, engine="llm")
    assert await call.say("That's all, thanks. Bye!") == "Thanks for calling, goodbye!"
    assert call.engine.ending.reason == "goodbye"
    assert len(fake.requests) == 1


async def test_a_booking_finished_after_the_caller_talked_over_it_still_ends_the_call(
    demo, fake, settings
):
    """The caller talks while `book` is writing the booking: it completes in the grace
    period, and the call ends after the next answer instead of staying open."""
    settings.LLM_FILLER_AFTER_SECONDS = 5.0  # no filler: the tool is cut off in silence
    fake.script(
        Reply(tool("check_availability", service="Haircut", start="2026-11-26 15:00")),
        Reply(words("A haircut for Maria on Thursday, November 26th at 3 PM. Shall I book it?")),
        Reply(tool("book", service="Haircut", start="2026-11-26 15:00", customer_name="Maria")),
        # Never asked for: the answer that ran `book` was cut off by the caller.
        # The next turn: the model sees the booking done and says goodbye.
        Reply(words("Yes, you're booked for Thursday at 3 PM. Goodbye!")),
    )
    session, line = await open_line(demo, "CAllmbookcut")
    provider = session.engine.context.provider
    create_booking = provider.create_booking
    writing = asyncio.Event()

    async def slow_create_booking(context):
        writing.set()
        await asyncio.sleep(0.3)
        return await create_booking(context)

    provider.create_booking = slow_create_booking
    await say(session, line, "A haircut tomorrow at 3, I'm Maria")
    await session.handle_prompt("yes")
    await asyncio.wait_for(writing.wait(), 5)
    await session.handle_prompt("Sorry, did that go through?")  # talks over the answer

    assert await line.answer() == "Yes, you're booked for Thursday at 3 PM. Goodbye!"
    await session.wait_for_answer()
    assert session.engine.ending is not None and session.engine.ending.reason == "booked"
    assert line.handoffs == [{"reason": "booked"}], "the line is closed after the goodbye"
    assert session.ended
    (booking,) = [b async for b in Booking.objects.filter(business=demo)]
    call = await call_record("CAllmbookcut")
    assert (call.outcome, call.booking_id) == ("booked", booking.pk)
    await session.close()
