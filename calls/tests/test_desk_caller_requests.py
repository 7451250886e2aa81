"""Whole conversations for what callers ask of the desk beyond a single booking: "what time
was my booking again?" for a day, a move by an offset from the booking's own time ("push it
back 30 minutes"), cancelling every booking they hold in one go, and calls that end with
nothing changed being recorded for what they were (questions answered, a read-back declined),
not as callers who hung up early.

Demo Salon on a frozen Wednesday, 2026-11-25 10:00 in New York (see test_desk_conversations):
Saturday the 28th is open 10-16, Monday is the 30th, next week is November 30th to December 6th.
"""

import io

import pytest
import time_machine
from django.core.management import call_command

from calls.models import Call
from calls.tests.conversation import Conversation, demo_business, local
from calls.tests.test_desk_conversations import NOW, booked, confirmed, rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def frozen_now(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False  # the tests run the outbox themselves
    settings.SMS_BACKEND = "console"
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
async def demo():
    return await demo_business()


# -- How a call with nothing changed is recorded ------------------------------------------------


class TestHonestOutcomes:
    async def test_questions_then_bye_is_answered_not_abandoned(self, demo):
        call = await Conversation.start(demo)
        assert "Friday we're open 9 AM to 6 PM" in await call.say("what time do you close Friday?")
        assert "35 dollars" in await call.say("and how much is a haircut?")
        await call.say("thanks, bye")
        assert call.ended and call.engine.state.outcome == "answered"

    async def test_no_at_the_read_back_then_bye_is_declined(self, demo):
        call = await Conversation.start(demo)
        await call.say("Hi, it's Maria, could I get a haircut tomorrow at 3?")
        assert "Shall I book it?" in await call.say("yes that's my number")
        await call.say("no")
        await call.say("actually never mind, bye")
        assert call.ended and call.engine.state.outcome == "declined"
        assert await rows(demo) == set()

    async def test_no_to_a_cancellation_read_back_is_declined(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        assert "Shall I cancel it?" in await call.say("I need to cancel my haircut")
        await call.say("no, never mind, I'll keep it")
        assert call.ended and call.engine.state.outcome == "declined"
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}

    async def test_a_question_then_a_booking_is_booked(self, demo):
        call = await Conversation.start(demo)
        await call.say("are you open on Saturday?")
        await call.say("ok, book me a haircut Saturday at 11, I'm Maria")
        await call.say("yes")
        await call.say("yes")
        assert call.engine.state.outcome == "booked"

    def test_simulate_call_records_an_enquiry_as_answered(self, demo):
        out = io.StringIO()
        call_command(
            "simulate_call",
            "demo",
            stdin=io.StringIO("what time do you close Friday?\nthanks, bye\n"),
            stdout=out,
        )
        assert "Call ended: answered" in out.getvalue()
        assert Call.objects.get().outcome == "answered"
