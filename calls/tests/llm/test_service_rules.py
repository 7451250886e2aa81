"""The LLM receptionist's tools answer from the same per-service rules as the embedded one
(Demo Salon on a frozen Wednesday 2026-11-25; hair colouring only Tuesday to Saturday,
10 to 3)."""

from __future__ import annotations

import pytest

from calls.tests.conversation import Conversation
from calls.tests.llm.fake_openai import Reply, tool, words
from calls.tests.test_service_rules_calls import bookings_of, colouring_tuesday_to_saturday

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def colouring_rules(demo):
    await colouring_tuesday_to_saturday(demo)
    return demo


async def test_the_llm_tools_refuse_colouring_on_monday_with_the_rule(colouring_rules, fake):
    fake.script(
        Reply(tool("check_availability", service="Hair colouring", start="2026-11-30 11:00")),
        Reply(words("Sorry, we do colouring Tuesday to Saturday.")),
    )
    call = await Conversation.start(colouring_rules, engine="llm")
    await call.say("Can I get my hair coloured on Monday at 11?")
    result = fake.requests[1].tool_results()[-1]
    assert (result["available"], result["reason"]) == (False, "service_hours")
    assert result["explanation"] == (
        "I'm sorry, we do hair colouring Tuesday to Saturday, 10 AM to 3 PM."
    )
    assert [a["start"] for a in result["alternatives"]] == [
        "2026-12-01 10:45",
        "2026-12-01 11:00",
        "2026-12-01 11:15",
    ]
    assert call.engine.consent.slot is None


async def test_the_llm_tools_offer_no_times_on_a_day_without_the_service(colouring_rules, fake):
    fake.script(
        Reply(tool("check_availability", service="Hair colouring", start="2026-11-30")),
        Reply(words("Sorry, not on Mondays.")),
    )
    call = await Conversation.start(colouring_rules, engine="llm")
    await call.say("Any colouring on Monday?")
    result = fake.requests[1].tool_results()[-1]
    assert (result["available"], result["reason"]) == (False, "service_hours")
    assert "Tuesday to Saturday, 10 AM to 3 PM" in result["explanation"]
    assert "free_times" not in result


async def test_the_llm_cannot_book_colouring_outside_its_hours(colouring_rules, fake):
    fake.script(
        Reply(
            tool(
                "book",
                service="Hair colouring",
                start="2026-11-26 14:00",
                customer_name="Maria",
            )
        ),
        Reply(words("Sorry.")),
    )
    call = await Conversation.start(colouring_rules, engine="llm")
    await call.say("Book me a colouring tomorrow at 2, I'm Maria")
    assert not await bookings_of(colouring_rules)
