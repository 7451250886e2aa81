"""Whole conversations with the embedded receptionist where callers talk loosely: two services
with one that needs asking about, a booking for someone else, a bare service name, "cancel my
trim" with two kinds of trim booked, and 12 o'clock said with a part of the day.

Demo Salon on a frozen Wednesday, 2026-11-25 10:00 in New York (see test_desk_conversations):
Thursday the 26th is 'tomorrow', Saturday the 28th is open 10-16, Monday is the 30th. The
haircut's other names include "trim up"; the beard trim's include "trim".
"""

import pytest
import time_machine

from calls.tests.conversation import Conversation, demo_business
from calls.tests.test_desk_conversations import NOW, booked

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def frozen_now(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False
    settings.SMS_BACKEND = "console"
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
async def demo():
    return await demo_business()


class TestBookedForSomeoneElse:
    async def test_the_confirmation_speaks_to_the_caller_not_the_daughter(self, demo):
        await booked(demo, "Haircut", 2026, 12, 5, 11, name="Ana Ruiz")
        call = await Conversation.start(demo)
        await call.say("I'd like to book a manicure, Friday at 3")
        await call.say("no, it's for my daughter, Mia")
        answer = await call.say("yes")
        assert answer.startswith(
            "You're all set. Mia's manicure is on Friday, November 27th at 3 PM."
        )
        assert "all set, Mia" not in answer

    async def test_for_my_son_said_up_front(self, demo):
        call = await Conversation.start(demo)
        await call.say("can I book a haircut for my son Leo tomorrow at 11")
        answer = await call.say("yes")  # text the number they're calling from
        assert answer == "A haircut for Leo on Thursday, November 26th at 11 AM. Shall I book it?"
        answer = await call.say("yes")
        assert answer.startswith("You're all set. Leo's haircut is on Thursday, November 26th")

    async def test_booking_for_oneself_still_uses_the_name(self, demo):
        call = await Conversation.start(demo)
        await call.say("a haircut tomorrow at 11, I'm Dana")
        await call.say("yes")
        assert (await call.say("yes")).startswith("You're all set, Dana: a haircut on Thursday")


class TestNoOnBeforeToday:
    async def test_what_time_today(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("can I get a haircut today?")
        assert answer == "What time today would suit you?"

    async def test_what_time_tomorrow_after_a_question(self, demo):
        call = await Conversation.start(demo)
        assert await call.say("I'd like a manicure tomorrow") == (
            "What time tomorrow would suit you?"
        )
        answer = await call.say("how much is that?")
        assert answer.endswith(" What time tomorrow would suit you?")

    async def test_a_weekday_keeps_its_on(self, demo):
        call = await Conversation.start(demo)
        assert await call.say("a haircut on Friday please") == "What time on Friday would suit you?"


class TestServiceWeDontOffer:
    @pytest.mark.parametrize("said", ["pedicures, please", "pedicure", "um, a pedicure please"])
    async def test_a_bare_pedicure(self, demo, said):
        call = await Conversation.start(demo)
        answer = await call.say(said)
        assert "we don't offer pedicure" in answer
        assert "beard trim, hair colouring, haircut or manicure" in answer

    async def test_a_name_alone_is_not_a_service(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("Dana")
        assert "don't offer" not in answer

    async def test_a_surname_like_a_service_answers_what_name(self, demo):
        call = await Conversation.start(demo)
        assert "name" in await call.say("a manicure on Friday at 3")
        answer = await call.say("Tan")
        assert "don't offer" not in answer and "Thanks, Tan" in answer

    async def test_then_a_manicure(self, demo):
        call = await Conversation.start(demo)
        await call.say("pedicure")
        answer = await call.say("ok, a manicure then, Friday at 3, I'm Lena")
        assert "Shall I text" in answer
