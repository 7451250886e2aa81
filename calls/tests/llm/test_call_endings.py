"""How a call with the LLM receptionist ends: a person, a message, a goodbye."""

from __future__ import annotations

import pytest

from calls.tests.conversation import CALLER, Conversation
from calls.tests.llm.fake_openai import Reply, tool, words

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
