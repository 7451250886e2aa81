"""Whole conversations where the caller's words could be read as the wrong action on their
bookings, from a tester's calls: a move said with "instead", "rather", "running late" or
"change of plans" (never a second booking), a question about a booking with the service
named (never a new booking), and two bookings cancelled in one breath (never one silently
kept). When a caller who holds a booking of the service could mean a move or another one,
they are asked.

Demo Salon on a frozen Wednesday, 2026-11-25 10:00 in New York (see test_desk_conversations):
Thursday the 26th is tomorrow, Friday the 27th, Saturday the 28th (open 10-16), Monday the 30th.
"""

import pytest
import time_machine

from calls.tests.conversation import Conversation, demo_business, local
from calls.tests.test_desk_conversations import NOW, booked, confirmed, rows

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


async def holds_three(demo):
    """The tester's returning caller: a colouring, a haircut and a manicure."""
    await booked(demo, "Hair colouring", 2026, 11, 26, 10)
    await booked(demo, "Haircut", 2026, 11, 28, 14)
    await booked(demo, "Manicure", 2026, 11, 30, 15)


HAIRCUT_TO_FRIDAY = (
    "Your haircut on Saturday, November 28th at 2 PM moves to Friday, November 27th at 2 PM. "
    "Shall I move it?"
)


# -- A move said without "move" is a move, never a second booking ------------------------------


class TestMovesSaidOtherwise:
    @pytest.mark.parametrize(
        "said",
        [
            "could my haircut be on Friday at 2 instead",
            "could my haircut be on Friday at 2",
            "I booked a haircut for Saturday but I'd rather come Friday at 2",
            "I've got a haircut on Saturday, but I'd prefer Friday at 2 if you have it",
            "change of plans, haircut on Friday at 2 rather than Saturday",
            "change of plans, can I do my haircut Friday at 2 instead of Saturday",
        ],
    )
    async def test_the_haircut_moves_to_friday(self, demo, said):
        await holds_three(demo)
        call = await Conversation.start(demo)
        answer = await call.say(said)
        assert answer == HAIRCUT_TO_FRIDAY
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Hair colouring", local(demo, 2026, 11, 26, 10)),
            ("Haircut", local(demo, 2026, 11, 27, 14)),
            ("Manicure", local(demo, 2026, 11, 30, 15)),
        }
        assert call.engine.state.outcome == "moved"

    async def test_running_late_for_my_colouring_moves_it_that_day(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        answer = await call.say("hi I'm running late for my colouring, can we make it 11 instead")
        assert answer == (
            "Your hair colouring on Thursday, November 26th at 10 AM moves to Thursday, "
            "November 26th at 11 AM. Shall I move it?"
        )
        # A time said with "fine" at the read-back is a change, not a yes to 11.
        answer = await call.say("11:30 is fine")
        assert answer.endswith(
            "Your hair colouring on Thursday, November 26th at 10 AM moves to Thursday, "
            "November 26th at 11:30 AM. Shall I move it?"
        )
        assert len(await rows(demo)) == 3
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Hair colouring", local(demo, 2026, 11, 26, 11, 30)),
            ("Haircut", local(demo, 2026, 11, 28, 14)),
            ("Manicure", local(demo, 2026, 11, 30, 15)),
        }

    async def test_running_late_today_without_naming_it(self, demo):
        await booked(demo, "Haircut", 2026, 11, 25, 12)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("hiya, I'm running a bit late, can I come at 12:30 instead?")
        assert answer == (
            "Your haircut on Wednesday, November 25th at noon moves to Wednesday, "
            "November 25th at 12:30 PM. Shall I move it?"
        )
        await call.say("yes please")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 25, 12, 30)),
            ("Manicure", local(demo, 2026, 11, 30, 15)),
        }

    async def test_a_time_said_as_fine_to_a_booking_read_back_is_not_a_yes(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        await call.say("a haircut tomorrow at 11 please, I'm Dana")
        answer = await call.say("yes")
        assert answer.endswith("Shall I book it?") and "11 AM" in answer
        answer = await call.say("11:30 is fine")
        assert "11:30 AM" in answer and answer.endswith("Shall I book it?")
        assert await rows(demo) == set()
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 26, 11, 30))}


class TestMoveOrAnother:
    """Holding a haircut and asking for one on another day: asked, never guessed."""

    async def test_asked_then_move_it(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        answer = await call.say("can I get a haircut on Friday at 2?")
        assert answer == (
            "You have a haircut on Saturday, November 28th at 2 PM. Move it to Friday, "
            "November 27th at 2 PM, or book another one?"
        )
        assert await call.say("move it please") == HAIRCUT_TO_FRIDAY
        await call.say("yes")
        assert ("Haircut", local(demo, 2026, 11, 27, 14)) in await confirmed(demo)
        assert ("Haircut", local(demo, 2026, 11, 28, 14)) not in await confirmed(demo)

    async def test_asked_then_another_one(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        await call.say("can I get a haircut on Friday at 2?")
        answer = await call.say("no, another one, it's for my son Leo")
        assert answer.startswith("Thanks, Leo. Shall I text the confirmation")
        answer = await call.say("yes")
        assert answer == "A haircut for Leo on Friday, November 27th at 2 PM. Shall I book it?"
        await call.say("yes")
        assert {
            ("Haircut", local(demo, 2026, 11, 27, 14)),
            ("Haircut", local(demo, 2026, 11, 28, 14)),
        } <= await confirmed(demo)

    async def test_a_yes_to_move_or_another_is_asked_again(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        await call.say("haircut Friday at 2")
        answer = await call.say("yes")
        assert "move your haircut on saturday" in answer.lower() and "another" in answer
        assert len(await rows(demo)) == 3
        assert await call.say("the first one, move it") == HAIRCUT_TO_FRIDAY

    async def test_another_haircut_said_plainly_is_not_asked(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        answer = await call.say("can I book another haircut for Friday at 2 as well")
        assert answer.startswith("A haircut for Maria on Friday, November 27th at 2 PM.")


# -- Asking about a booking with the service named is a question, never a new booking ---------

SECOND_CALLER = "+15555550122"


async def holds_two(demo):
    """The tester's second caller: a haircut on Saturday at 3, a manicure on Monday at 11."""
    await booked(demo, "Haircut", 2026, 11, 28, 15, phone=SECOND_CALLER, name="Rosa")
    await booked(demo, "Manicure", 2026, 11, 30, 11, phone=SECOND_CALLER, name="Rosa")


class TestAskingAboutABooking:
    @pytest.mark.parametrize(
        ("said", "told"),
        [
            ("hi, uh, what time is my haircut again?", "Your haircut is on Saturday"),
            ("what day's my haircut booked for?", "Your haircut is on Saturday"),
            ("when's my manicure?", "Your manicure is on Monday"),
            ("can you remind me when my nails are?", "Your manicure is on Monday"),
            ("is my haircut still on for saturday?", "Your haircut is on Saturday"),
        ],
    )
    async def test_the_booking_is_said_and_nothing_is_booked(self, demo, said, told):
        await holds_two(demo)
        call = await Conversation.start(demo, caller=SECOND_CALLER)
        answer = await call.say(said)
        assert answer.startswith(told), answer
        other = "manicure" if "haircut" in told else "haircut"
        assert other not in answer
        assert "What day and time" not in answer and "What time on" not in answer
        assert "book another" not in answer
        assert not call.ended
        assert len(await rows(demo)) == 2

    async def test_the_testers_call_books_nothing(self, demo):
        await holds_two(demo)
        call = await Conversation.start(demo, caller=SECOND_CALLER)
        answer = await call.say("hi, uh, what time is my haircut again?")
        assert answer.startswith("Your haircut is on Saturday, November 28th at 3 PM.")
        answer = await call.say("I thought it was Saturday")
        assert "Saturday, November 28th at 3 PM" in answer
        await call.say("the first one")
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 28, 15)),
            ("Manicure", local(demo, 2026, 11, 30, 11)),
        }

    async def test_ok_thanks_after_the_answer_ends_the_call(self, demo):
        await holds_two(demo)
        call = await Conversation.start(demo, caller=SECOND_CALLER)
        first = await call.say("when's my manicure?")
        assert first.startswith("Your manicure is on Monday, November 30th at 11 AM.")
        answer = await call.say("ok thanks")
        assert "Goodbye" in answer and call.ended
        assert call.engine.state.outcome == "answered"
        assert len(await rows(demo)) == 2

    async def test_a_service_not_booked_says_what_they_have(self, demo):
        await holds_two(demo)
        call = await Conversation.start(demo, caller=SECOND_CALLER)
        answer = await call.say("what time is my colour on?")
        assert answer.startswith(
            "I don't see a hair colouring booked under the number you're calling from. Your "
            "haircut is on Saturday"
        )
        assert len(await rows(demo)) == 2


# -- Two bookings cancelled in one breath: both read back, never one silently kept ------------


class TestCancelTwoNamed:
    @pytest.mark.parametrize(
        "said",
        [
            "I need to cancel my haircut and my manicure",
            "can you cancel the manicure and the haircut please",
            "hi, I'd like to cancel my haircut and manicure",
        ],
    )
    async def test_both_are_read_back_and_cancelled(self, demo, said):
        await holds_two(demo)
        call = await Conversation.start(demo, caller=SECOND_CALLER)
        answer = await call.say(said)
        assert answer == (
            "Your haircut on Saturday, November 28th at 3 PM and your manicure on Monday, "
            "November 30th at 11 AM. Shall I cancel both?"
        )
        await call.say("yes")
        assert await confirmed(demo) == set()
        assert call.ended

    async def test_the_colouring_not_named_is_kept(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        answer = await call.say("I need to cancel my haircut and my manicure")
        assert "colouring" not in answer and answer.endswith("Shall I cancel both?")
        await call.say("yes")
        assert await confirmed(demo) == {("Hair colouring", local(demo, 2026, 11, 26, 10))}

    async def test_one_of_the_two_not_booked_is_said(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 15, phone=SECOND_CALLER, name="Rosa")
        call = await Conversation.start(demo, caller=SECOND_CALLER)
        answer = await call.say("I need to cancel my haircut and my manicure")
        assert answer == (
            "I don't see a manicure booked under this number. A haircut for Rosa on Saturday, "
            "November 28th at 3 PM. Shall I cancel it?"
        )
        await call.say("yes")
        assert await confirmed(demo) == set()


# -- Letting a change go, choosing among three, services not offered --------------------------


class TestLettingItGo:
    @pytest.mark.parametrize(
        "said",
        [
            "hmm, no, leave it where it is actually",
            "actually no, just keep it as it is",
            "you know what, leave it on Monday",
        ],
    )
    async def test_leave_it_mid_move_keeps_it_and_says_so(self, demo, said):
        await holds_three(demo)
        await booked(demo, "Manicure", 2026, 11, 27, 15, phone="+15555550111", name="Ann")
        call = await Conversation.start(demo)
        answer = await call.say("move my manicure to Friday")
        assert "Friday at 3 PM is already booked" in answer
        answer = await call.say(said)
        assert answer.startswith(
            "No problem, I'll leave your manicure on Monday, November 30th at 3 PM as it is."
        )
        assert "What other day" not in answer
        answer = await call.say("ok bye")
        assert call.ended
        assert ("Manicure", local(demo, 2026, 11, 30, 15)) in await confirmed(demo)
        assert len(await rows(demo)) == 4

    async def test_leave_it_at_the_move_read_back(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        await call.say("can I move my manicure to Tuesday")
        answer = await call.say("no, leave it where it is")
        assert answer.startswith("No problem, I'll leave your manicure on Monday")
        assert ("Manicure", local(demo, 2026, 11, 30, 15)) in await confirmed(demo)

    async def test_no_the_other_one_among_three_asks_again(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        answer = await call.say("I need to cancel an appointment")
        assert answer.startswith("Which one:")
        answer = await call.say("no, the other one")
        assert "leave them" not in answer and "Which one" in answer
        answer = await call.say("the haircut")
        assert answer == (
            "A haircut for Maria on Saturday, November 28th at 2 PM. Shall I cancel it?"
        )
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Hair colouring", local(demo, 2026, 11, 26, 10)),
            ("Manicure", local(demo, 2026, 11, 30, 15)),
        }

    async def test_the_haircut_right_after_no_to_the_list_is_the_pick(self, demo):
        await holds_three(demo)
        call = await Conversation.start(demo)
        await call.say("I need to cancel an appointment")
        assert "leave them" in await call.say("no")
        answer = await call.say("the haircut")
        assert answer == (
            "A haircut for Maria on Saturday, November 28th at 2 PM. Shall I cancel it?"
        )
        await call.say("yes")
        assert ("Haircut", local(demo, 2026, 11, 28, 14)) not in await confirmed(demo)
        assert len(await confirmed(demo)) == 2

    async def test_never_mind_after_a_service_not_offered_ends_the_call(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("eyebrow waxing Thursday")
        assert "we don't offer eyebrow waxing" in answer
        answer = await call.say("oh ok, never mind then")
        assert "Goodbye" in answer and call.ended

    async def test_a_thing_not_offered_is_named_without_the_words_after_it(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("hi can I book waxing id like it on thursday")
        assert answer.startswith("I'm sorry, we don't offer waxing.")


# -- Someone else's booking, asked about from another number ----------------------------------

HUSBAND = "+15555550144"


class TestSomeoneElsesBooking:
    @pytest.mark.parametrize(
        "said",
        [
            "can you move Maria Lopez's haircut to Friday, I'm her husband",
            "hi, I need to cancel Maria's haircut on Saturday, I'm her husband",
        ],
    )
    async def test_another_numbers_booking_becomes_a_message(self, demo, said):
        await booked(demo, "Haircut", 2026, 11, 28, 14, name="Maria Lopez")
        await booked(demo, "Haircut", 2026, 11, 30, 11, phone=HUSBAND, name="Tom")
        call = await Conversation.start(demo, caller=HUSBAND)
        answer = await call.say(said)
        assert answer == (
            "I can only change a booking from the number it was made under, and I don't see "
            "one for Maria under the number you're calling from. I can take a message and the "
            "team will sort it out and call you back. Would you like to leave one?"
        )
        assert "What would you like me to pass on?" in await call.say("yes please")
        await call.say("It's Tom, please move my wife Maria's haircut to Friday")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 28, 14)),
            ("Haircut", local(demo, 2026, 11, 30, 11)),
        }
        assert call.engine.state.outcome == "message_taken"

    async def test_her_booking_made_from_this_number_is_moved(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14, phone=HUSBAND, name="Maria Lopez")
        call = await Conversation.start(demo, caller=HUSBAND)
        answer = await call.say("can you move Maria Lopez's haircut to Friday at 2")
        assert answer == HAIRCUT_TO_FRIDAY
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 27, 14))}


class TestAServiceNotOfferedBesideOneThatIs:
    @pytest.mark.parametrize(
        "said",
        [
            "can I get my nails and a pedicure done on Friday at 2",
            "a manicure and a pedicure Friday at 2 please",
        ],
    )
    async def test_the_pedicure_is_said_not_dropped(self, demo, said):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say(said)
        assert answer.startswith(
            "I'm sorry, we don't offer pedicures, so I'll book just the manicure."
        )
        assert answer.endswith("Can I take your name, please?")
        await call.say("Dana Scott")
        await call.say("yes")
        answer = await call.say("yes")
        assert "manicure" in answer.lower()
        assert await confirmed(demo) == {("Manicure", local(demo, 2026, 11, 27, 14))}


class TestOtherQuestions:
    async def test_is_this_the_pizza_place_says_who_we_are(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("is this the pizza place?")
        assert answer.startswith("Demo Salon is a") and "What would you like" not in answer
        answer = await call.say("oh sorry, wrong number")
        assert call.ended

    @pytest.mark.parametrize("said", ["do you take walk-ins?", "is there parking?"])
    async def test_a_question_we_cant_answer_offers_a_message(self, demo, said):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say(said)
        assert answer.startswith("I'm sorry, I don't know that one.")
        assert "message" in answer and "didn't quite get that" not in answer
        assert "What would you like me to pass on?" in await call.say("yes please")

    async def test_can_i_speak_to_linda_is_a_person(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("can I speak to Linda")
        assert "What would you like me to pass on?" in answer

    async def test_do_you_do_kids_haircuts_is_answered_first(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("do you do kids haircuts?")
        assert answer.startswith("Yes, we do haircuts.")
        assert answer.endswith("Would you like to book one?")
        answer = await call.say("yes, Friday at 2")
        assert "Can I take your name" in answer
        assert await rows(demo) == set()


class TestHolidayHours:
    async def test_are_you_open_on_christmas_day(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("are you open on christmas day?")
        assert answer.startswith(
            "On Christmas Day, Friday, December 25th, we're open 9 AM to 6 PM."
        )
        assert "Saturday" not in answer

    async def test_hours_on_new_years_day_name_the_day(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("what are your hours on new year's day?")
        assert answer.startswith("On New Year's Day, Friday, January 1st, we're open")
