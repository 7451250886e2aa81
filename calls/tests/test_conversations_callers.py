"""Whole conversations with the embedded receptionist where callers talk loosely: two services
with one that needs asking about, a booking for someone else, a bare service name, "cancel my
trim" with two kinds of trim booked, and 12 o'clock said with a part of the day.

Demo Salon on a frozen Wednesday, 2026-11-25 10:00 in New York (see test_desk_conversations):
Thursday the 26th is 'tomorrow', Saturday the 28th is open 10-16, Monday is the 30th. The
haircut's other names include "trim up"; the beard trim's include "trim".
"""

import pytest

from bookings.models import Booking
from calls.tests.conversation import Conversation, local
from calls.tests.test_desk_conversations import booked, confirmed, rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_now")]


class TestATrimAndAColour:
    async def test_after_picking_the_trim_the_colour_is_booked_next(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("Can I get a trim and a colour tomorrow at 2? I'm Dana")
        assert answer == "A beard trim or a haircut?"
        answer = await call.say("the haircut")
        assert answer.startswith("I can book those one at a time. Let's start with the haircut.")
        answer = await call.say("yes")  # the number they're calling from
        assert answer == "A haircut for Dana on Thursday, November 26th at 2 PM. Shall I book it?"
        answer = await call.say("yes")
        assert "Shall I book the hair colouring too, right after, at 2:30 PM?" in answer
        assert not call.ended
        answer = await call.say("yes please")
        assert answer.startswith("A hair colouring for Dana on Thursday, November 26th at 2:30")
        await call.say("yes")
        assert call.ended
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 26, 14)),
            ("Hair colouring", local(demo, 2026, 11, 26, 14, 30)),
        }

    async def test_the_beard_one_keeps_the_colour_too(self, demo):
        call = await Conversation.start(demo)
        await call.say("hi, um, a trim plus some highlights on Friday at 10, this is Joe")
        answer = await call.say("the beard one")
        assert answer.startswith("I can book those one at a time. Let's start with the beard trim.")

    async def test_a_trim_alone_is_still_one_service(self, demo):
        call = await Conversation.start(demo)
        await call.say("Hi, I need a trim tomorrow at 2")
        answer = await call.say("a haircut")
        assert "one at a time" not in answer and "Can I take your name" in answer


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
        assert {b.customer_name async for b in Booking.objects.all()} == {"Ana Ruiz", "Mia"}

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


class TestCancelMyTrim:
    async def test_a_haircut_and_a_beard_trim_booked_lists_both(self, demo):
        await booked(demo, "Haircut", 2026, 11, 30, 15)
        await booked(demo, "Beard trim", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say("Cancel my trim")
        assert answer == (
            "Which one: your beard trim on Saturday at 2 PM or your haircut on Monday at 3 PM?"
        )
        answer = await call.say("the haircut")
        assert answer.endswith("Shall I cancel it?") and "haircut" in answer
        await call.say("yes")
        assert await rows(demo) == {
            ("Haircut", "cancelled", local(demo, 2026, 11, 30, 15)),
            ("Beard trim", "confirmed", local(demo, 2026, 11, 28, 14)),
            ("Manicure", "confirmed", local(demo, 2026, 11, 27, 11)),
        }

    async def test_only_a_beard_trim_booked_is_the_one_meant(self, demo):
        await booked(demo, "Beard trim", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say("hi yeah I need to cancel my trim")
        assert (
            answer
            == "A beard trim for Maria on Saturday, November 28th at 2 PM. Shall I cancel it?"
        )
        await call.say("yes")
        assert await confirmed(demo) == {("Manicure", local(demo, 2026, 11, 27, 11))}

    async def test_only_a_haircut_booked_is_the_one_meant(self, demo):
        await booked(demo, "Haircut", 2026, 11, 30, 15)
        await booked(demo, "Manicure", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say("can you cancel my trim please")
        assert answer == "A haircut for Maria on Monday, November 30th at 3 PM. Shall I cancel it?"

    async def test_move_my_trim_with_only_a_haircut_booked(self, demo):
        await booked(demo, "Haircut", 2026, 11, 30, 15)
        await booked(demo, "Manicure", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say("can I move my trim to Tuesday?")
        assert answer == (
            "Your haircut on Monday, November 30th at 3 PM moves to Tuesday, December 1st at "
            "3 PM. Shall I move it?"
        )

    async def test_no_trim_booked_says_so_and_lists_what_is(self, demo):
        await booked(demo, "Manicure", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say("I need to cancel my trim")
        assert answer.startswith("I don't see a beard trim or a haircut booked under this number.")
        assert answer.endswith("Shall I cancel it?") and "manicure" in answer


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


class TestTwelveWithAPartOfTheDay:
    async def test_this_morning_at_12_asks_noon_or_midnight(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("can I get a haircut this morning at 12?")
        assert answer == "Sorry, do you mean noon or midnight?"
        answer = await call.say("noon")
        assert "Can I take your name" in answer
        await call.say("Dana")
        answer = await call.say("yes")
        assert answer == "A haircut for Dana on Wednesday, November 25th at noon. Shall I book it?"

    async def test_tomorrow_morning_at_12_30_asks_too(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("a manicure tomorrow morning at 12 30")
        assert answer == "Sorry, do you mean 12:30 PM or 12:30 AM?"
        answer = await call.say("in the afternoon")
        assert "Can I take your name" in answer, call

    async def test_this_afternoon_at_12_is_noon(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("a haircut this afternoon at 12, I'm Dana")
        assert "Shall I text" in answer
        answer = await call.say("yes")
        assert answer == "A haircut for Dana on Wednesday, November 25th at noon. Shall I book it?"

    @pytest.mark.parametrize("said", ["12 tonight", "tonight at 12", "midnight tonight"])
    async def test_midnight_tonight_is_never_booked_as_another_time(self, demo, said):
        call = await Conversation.start(demo)
        answer = await call.say(f"can I get a haircut {said}?")
        assert "noon" not in answer and "Shall I book" not in answer
        assert "outside our hours" in answer
        assert not [b async for b in Booking.objects.all()]
