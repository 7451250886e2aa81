"""When the model fails mid-call the caller never hears an error: the embedded receptionist
takes over with what was gathered, and the Call records that it happened."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from calls.tests.conversation import CALLER, Conversation, local
from calls.tests.llm.fake_openai import Fault, Reply, tool, words
from calls.tests.llm.line import call_record, open_line, say

pytestmark = pytest.mark.django_db(transaction=True)

CHECK = tool("check_availability", service="Haircut", start="2026-11-26 15:00")
EMBEDDED_READ_BACK = "A haircut for Maria on Thursday, November 26th at 3 PM. Shall I book it?"


def fallbacks(events: list) -> list[str]:
    return [detail for event, detail in events if event == "llm_fallback"]


async def test_a_server_error_mid_call_hands_over_with_what_was_gathered(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words("Tomorrow at 3 PM is free. Can I take your name?")),
        Fault.server_error(),
        Fault.server_error(),  # the one retry fails too
    )
    session, line = await open_line(demo, "CAllmfallback")
    await say(session, line, "Can I get a haircut tomorrow at 3?")

    answer = await say(session, line, "It's Maria")
    # The embedded receptionist knows the service, the time and now the name.
    assert answer.startswith("Thanks, Maria. Shall I text the confirmation to the number")
    assert len(fake.requests) == 4
    # Recorded as it happened, not only when the call ends.
    assert [e["event"] for e in (await call_record("CAllmfallback")).events] == ["llm_fallback"]
    assert await say(session, line, "yes") == EMBEDDED_READ_BACK
    assert (await say(session, line, "yes")).startswith("You're all set, Maria")
    assert len(fake.requests) == 4, "the model is not asked again once the call was handed over"
    await session.wait_for_answer()  # the ending is recorded once the goodbye was sent
    assert line.handoffs == [{"reason": "booked"}]

    call = await call_record("CAllmfallback")
    assert call.engine == "llm"
    assert call.outcome == "booked"
    assert call.booking.start == local(demo, 2026, 11, 26, 15)
    assert [(e["event"], e["detail"]) for e in call.events] == [
        ("llm_fallback", "the model server answered 500 (type: server_error)")
    ]


async def test_a_stalled_stream_times_out_and_hands_over(demo, fake, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.5
    fake.script(Reply(words("Sure. Let me see what we have"), stall_after=1))
    call = await Conversation.start(demo, engine="llm")
    started = time.perf_counter()
    answer = await call.say("Hi, this is Maria, can I get a haircut tomorrow at 3?")

    assert time.perf_counter() - started < 3
    assert answer.startswith("Sure. Sorry about that. Thanks, Maria. Shall I text the")
    assert fallbacks(call.engine.state.events) == ["the model timed out"]
    assert fake.requests[0].finished.wait(1) and fake.requests[0].closed_early
    # The rest of the call is the embedded receptionist's.
    assert await call.say("yes") == EMBEDDED_READ_BACK
    assert (await call.say("yes")).startswith("You're all set, Maria")
    assert await sync_to_async(Booking.objects.filter(customer_phone=CALLER).count)() == 1


async def test_a_long_rate_limit_hands_over_without_waiting(demo, fake):
    fake.script(Fault.rate_limited(retry_after="20"))
    call = await Conversation.start(demo, engine="llm")
    started = time.perf_counter()
    answer = await call.say("I'd like a beard trim on Friday at 11")
    assert time.perf_counter() - started < 2
    assert len(fake.requests) == 1
    assert answer == "Great. Can I take your name, please?"
    assert fallbacks(call.engine.state.events) == [
        "the model server rate-limited us (429; code: rate_limit_exceeded, type: requests)"
    ]


async def test_a_short_rate_limit_is_retried_once(demo, fake):
    fake.script(Fault.rate_limited(retry_after="0.05"), Reply(words("Hello! How can I help?")))
    call = await Conversation.start(demo, engine="llm")
    assert await call.say("Hello?") == "Hello! How can I help?"
    assert len(fake.requests) == 2
    assert call.engine.state.events == []


async def test_a_failed_goodbye_after_booking_still_ends_the_call(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words(EMBEDDED_READ_BACK)),
        Reply(tool("book", service="Haircut", start="2026-11-26 15:00", customer_name="Maria")),
        Fault.server_error(),
        Fault.server_error(),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut tomorrow at 3, I'm Maria")
    answer = await call.say("yes")
    assert answer.startswith("You're all set, Maria: a haircut on Thursday, November 26th at 3")
    assert call.engine.state.outcome == "booked" and call.engine.ending.reason == "booked"
    assert fallbacks(call.engine.state.events) == [
        "the model server answered 500 (type: server_error)"
    ]
    assert call.engine.fallback is None


async def test_an_llm_without_configuration_hands_over_at_once(demo, fake, settings):
    settings.LLM_BASE_URL = "https://api.openai.com/v1"
    settings.LLM_API_KEY = ""
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("Hello, I'd like to make an appointment")
    assert answer == (
        "What would you like to book? We offer beard trim, hair colouring, haircut or manicure."
    )
    assert fallbacks(call.engine.state.events) == ["the LLM is not configured (LLM_API_KEY)"]
    assert fake.requests == []


async def test_in_two_hours_said_as_the_model_fails_counts_from_the_calls_clock(demo, fake):
    fake.script(
        Reply(words("Of course. What would you like, and when?")),
        Fault.rate_limited(retry_after="20"),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("hi there, I was hoping to get something done today")
    answer = await call.say("in two hours")
    assert fallbacks(call.engine.state.events) == [
        "the model server rate-limited us (429; code: rate_limit_exceeded, type: requests)"
    ]
    # Now is 10:00: the embedded receptionist keeps noon and asks only what is missing.
    assert answer.startswith("What would you like to book?"), answer
    await call.say("a beard trim please, it's Maria")
    assert await call.say("yes") == (
        "A beard trim for Maria on Wednesday, November 25th at noon. Shall I book it?"
    )
