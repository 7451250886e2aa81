"""The LLM receptionist's tools for a business that books through Calendly: when Calendly
can't be reached the model is told, with no time to offer, to take a message instead."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from bookings.tests.timeutil import upcoming
from calls.dialogue.speech import UNAVAILABLE_WORDS
from calls.tests.conversation import Conversation
from calls.tests.llm.conftest import fake  # noqa: F401  (the fake model server fixture)
from calls.tests.llm.fake_openai import Reply, tool, words

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("when", ["15:00", ""], ids=["a time", "a day"])
async def test_calendly_down_the_tools_say_so_and_offer_nothing(
    salon,
    fake,  # noqa: F811
    fake_calendly,
    when,
):
    day = upcoming(salon, 2)
    fake_calendly.fail("/event_type_available_times", 503, times=100)
    start = f"{day:%Y-%m-%d} {when}".strip()
    fake.script(
        Reply(tool("check_availability", service="Haircut", start=start)),
        Reply(words("I'm sorry, I can't reach our calendar. Shall I take a message?")),
    )
    call = await Conversation.start(salon, engine="llm")

    await call.say(f"Can I get a haircut on {day:%A} {when}?")

    result = fake.requests[1].tool_results()[-1]
    assert (result["available"], result["reason"]) == (False, "unavailable")
    assert result["explanation"] == UNAVAILABLE_WORDS
    assert result["alternatives"] == [] and "free_times" not in result
    assert "message" in result["next"]
    assert not await sync_to_async(Booking.objects.filter(business=salon).exists)()
