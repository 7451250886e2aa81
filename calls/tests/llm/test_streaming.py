"""Streaming speech through the call session: tokens forwarded while the model writes, a filler
for slow tools, and interrupts that stop the model and keep the history truthful."""

from __future__ import annotations

import asyncio
import time

import pytest

from calls.tests.llm.fake_openai import Reply, tool, words
from calls.tests.llm.line import open_line, say, transcript

pytestmark = pytest.mark.django_db(transaction=True)

STORY = "".join(f"This is sentence number {n} of a long answer. " for n in range(1, 41))


async def finished(request, timeout: float = 2.0) -> bool:
    """Whether the fake has finished answering `request` (completed or the client hung up)."""
    return await asyncio.to_thread(request.finished.wait, timeout)


async def test_text_is_forwarded_while_the_model_is_still_writing(demo, fake):
    fake.script(Reply(words("Hello there. We have lots of times free this week."), delay=0.1))
    session, line = await open_line(demo, "CAllmstream")
    await session.handle_prompt("Hi, anything free this week?")

    await asyncio.wait_for(line.first_token.wait(), 5)
    assert not fake.requests[0].finished.is_set(), "the first clause left before the model ended"
    assert [f[1] for f in line.frames if f[1]] == ["Hello there."]
    assert await line.answer() == "Hello there. We have lots of times free this week."
    await session.close()


async def test_an_interrupt_closes_the_stream_and_keeps_only_what_was_heard(demo, fake):
    fake.script(Reply(words(STORY), delay=0.03), Reply(words("Of course. What day?")))
    session, line = await open_line(demo, "CAllminterrupt")
    await session.handle_prompt("What have you got?")
    await asyncio.wait_for(line.first_token.wait(), 5)

    heard = "This is sentence number 1 of a long"
    interrupted_at = time.perf_counter()
    await session.handle_interrupt(heard)
    assert await finished(fake.requests[0], timeout=1.0)
    assert fake.requests[0].closed_early, "the model's stream was closed, not read to the end"
    assert time.perf_counter() - interrupted_at < 1.0
    sent = len(line.frames)
    await asyncio.sleep(0.2)
    assert len(line.frames) == sent, "nothing more is said after the interrupt"
    line.frames.clear()

    assert await say(session, line, "Sorry, I want a haircut") == "Of course. What day?"
    # The model is told it said only what the caller heard.
    assert fake.requests[1].messages[-2:] == [
        {"role": "assistant", "content": heard},
        {"role": "user", "content": "Sorry, I want a haircut"},
    ]
    await session.close()
    assert ("receptionist", heard, True) in await transcript("CAllminterrupt")


async def test_a_slow_tool_gets_a_filler_first(demo, fake, settings):
    settings.LLM_FILLER_AFTER_SECONDS = 0.1
    fake.script(
        Reply(tool("check_availability", service="Haircut", start="2026-11-26 15:00")),
        Reply(words("Tomorrow at 3 PM is free. Can I take your name?")),
    )
    session, line = await open_line(demo, "CAllmfiller")
    provider = session.engine.context.provider
    check = provider.check_availability
    tool_done: list[float] = []

    async def slow_check(context):
        await asyncio.sleep(0.4)
        result = await check(context)
        tool_done.append(time.perf_counter())
        return result

    provider.check_availability = slow_check
    await session.handle_prompt("A haircut tomorrow at 3?")
    await asyncio.wait_for(line.first_token.wait(), 5)
    filler_at = line.frames[0][3]
    answer = await line.answer()
    assert answer == "One moment, let me check. Tomorrow at 3 PM is free. Can I take your name?"
    assert filler_at < tool_done[0], "the filler is said while the tool is still running"
    # Our filler is not put in the model's mouth.
    assert all(
        "One moment" not in (m.get("content") or "") for m in session.engine.history.messages
    )
    await session.close()


async def test_a_fast_tool_gets_no_filler(demo, fake):
    fake.script(
        Reply(tool("check_availability", service="Haircut", start="2026-11-26 15:00")),
        Reply(words("Tomorrow at 3 PM is free.")),
    )
    session, line = await open_line(demo, "CAllmnofiller")
    assert await say(session, line, "A haircut tomorrow at 3?") == "Tomorrow at 3 PM is free."
    await session.close()


async def test_closing_an_answer_early_closes_the_model_stream_at_once(demo, fake):
    """The session closes the engine's answer when it is cancelled between two tokens."""
    from calls.tests.conversation import Conversation

    fake.script(Reply(words(STORY), delay=0.03))
    call = await Conversation.start(demo, engine="llm")
    answer = call.engine.respond("Tell me everything")
    assert (await anext(answer)).startswith("This ")
    closing_at = time.perf_counter()
    await answer.aclose()
    assert await finished(fake.requests[0], timeout=1.0)
    assert fake.requests[0].closed_early
    assert time.perf_counter() - closing_at < 1.0
    # What had been said stays the model's last message, to be cut by heard().
    assert call.engine.history.messages[-1]["role"] == "assistant"
    assert STORY.startswith(call.engine.history.messages[-1]["content"])
