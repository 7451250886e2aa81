"""Whole conversations with the booking desk under the embedded receptionist, grouped by what
the caller is doing: moving, picking which booking, agreeing (or not), asking questions,
letting it go, going round in circles, correcting themselves. Written from how people talk on
the phone; every one checks what ends up in the database, not just the words.

Demo Salon on a frozen Wednesday, 2026-11-25 10:00 in New York: Thursday the 26th is
'tomorrow', Saturday the 28th is open 10-16, Sunday is closed, Monday is the 30th. Prices:
haircut 35, beard trim 15, colouring 80 to 150, manicure not set.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import sync_to_async

from bookings import outbox
from bookings.models import Booking, DateException, OutboxTask, Service
from bookings.tests.factories import BookingFactory, acreate
from calls.sms.models import SmsMessage
from calls.tests.conversation import CALLER, Conversation, demo_business, local

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(autouse=True)
def frozen_now(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False  # the tests run the outbox themselves
    settings.SMS_BACKEND = "console"
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
async def demo():
    return await demo_business()


async def booked(demo, service: str, *args, phone: str = CALLER, name: str = "Maria"):
    service_row = await Service.objects.aget(business=demo, name=service)
    return await acreate(
        BookingFactory,
        service=service_row,
        start=local(demo, *args),
        customer_phone=phone,
        customer_name=name,
    )


async def rows(demo) -> set[tuple[str, str, datetime]]:
    return {
        (b.service.name, b.status, b.start)
        async for b in Booking.objects.filter(business=demo).select_related("service")
    }


async def confirmed(demo) -> set[tuple[str, datetime]]:
    return {(name, start) for name, status, start in await rows(demo) if status == "confirmed"}


@sync_to_async
def texts_sent() -> list[tuple[str, str, str]]:
    outbox.run_due(limit=100)
    return sorted(
        (sms.kind, sms.to, sms.body) for sms in SmsMessage.objects.select_related("booking")
    )


# -- Moves: one action, both times read back, never zero or two bookings ---------------------


class TestMoves:
    async def test_move_my_colouring_to_friday_is_a_move_not_a_new_booking(self, demo):
        await booked(demo, "Hair colouring", 2026, 12, 2, 10)
        call = await Conversation.start(demo)
        answer = await call.say("Hi, can I move my colouring to Friday?")
        assert answer == (
            "Your hair colouring on Wednesday, December 2nd at 10 AM moves to Friday, "
            "November 27th at 10 AM. Shall I move it?"
        )
        assert "moved" not in str(await rows(demo))
        answer = await call.say("yes please")
        assert "now on Friday, November 27th at 10 AM" in answer and call.ended
        assert await rows(demo) == {
            ("Hair colouring", "cancelled", local(demo, 2026, 12, 2, 10)),
            ("Hair colouring", "confirmed", local(demo, 2026, 11, 27, 10)),
        }
        assert call.engine.state.outcome == "moved"

    async def test_dont_cancel_it_i_want_to_change_the_day_moves_it(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        assert "Shall I cancel it?" in await call.say("I need to cancel my appointment")
        answer = await call.say("oh wait, don't cancel it, I want to change the day")
        assert "What day and time would you like instead?" in answer
        answer = await call.say("Monday")
        assert (
            "Your haircut on Saturday, November 28th at 2 PM moves to Monday, November 30th at "
            "2 PM. Shall I move it?" in answer
        )
        await call.say("yep")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 30, 14))}

    async def test_move_into_a_taken_time_keeps_the_booking_and_offers_others(self, demo):
        await booked(demo, "Haircut", 2026, 11, 27, 11)
        await booked(demo, "Haircut", 2026, 11, 30, 11, phone="+15555550111", name="Ann")
        call = await Conversation.start(demo)
        answer = await call.say("Could I reschedule my haircut to Monday at 11?")
        assert "Monday at 11 AM is already booked" in answer
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 27, 11)),
            ("Haircut", local(demo, 2026, 11, 30, 11)),
        }
        answer = await call.say("the later one")
        assert "moves to Monday, November 30th at 11:30 AM" in answer
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 30, 11)),
            ("Haircut", local(demo, 2026, 11, 30, 11, 30)),
        }

    async def test_a_move_lost_to_another_caller_leaves_the_old_booking(self, demo):
        await booked(demo, "Beard trim", 2026, 12, 2, 10)
        call = await Conversation.start(demo)
        answer = await call.say("can I move my beard trim to Thursday at 10")
        assert "Your beard trim on Wednesday, December 2nd at 10 AM moves to Thursday" in answer
        other = await Conversation.start(demo, caller="+15555550111")
        await other.say("beard trim tomorrow at 10, I'm Ann")
        await other.say("yes")
        await other.say("yes")
        answer = await call.say("yes")
        assert "already booked" in answer and not call.ended
        assert ("Beard trim", local(demo, 2026, 12, 2, 10)) in await confirmed(demo)
        mine = [r for r in await rows(demo) if r[2] == local(demo, 2026, 12, 2, 10)]
        assert mine == [("Beard trim", "confirmed", local(demo, 2026, 12, 2, 10))]

    async def test_no_to_a_move_then_never_mind_changes_nothing(self, demo):
        await booked(demo, "Haircut", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        await call.say("I'd like to move my appointment to Monday at 3")
        answer = await call.say("no, never mind, I'll call back")
        assert "Goodbye" in answer and call.ended
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 27, 11))}

    async def test_move_with_two_bookings_moves_the_one_named(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("can I shift my manicure to Tuesday")
        assert "manicure on Monday, November 30th at 3 PM moves to Tuesday, December 1st" in answer
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 28, 14)),
            ("Manicure", local(demo, 2026, 12, 1, 15)),
        }

    async def test_moving_to_the_time_it_already_has_moves_nothing(self, demo):
        await booked(demo, "Haircut", 2026, 11, 26, 15)
        call = await Conversation.start(demo)
        answer = await call.say("hey it's Maria, can I move my haircut to Thursday, same time?")
        assert answer == (
            "I see your haircut on Thursday, November 26th at 3 PM. It's already booked for "
            "then. When would you like to move it to?"
        )
        assert await rows(demo) == {("Haircut", "confirmed", local(demo, 2026, 11, 26, 15))}
        answer = await call.say("oh right, sorry, I meant Friday")
        assert "moves to Friday, November 27th at 3 PM. Shall I move it?" in answer
        await call.say("yes")
        assert await rows(demo) == {
            ("Haircut", "cancelled", local(demo, 2026, 11, 26, 15)),
            ("Haircut", "confirmed", local(demo, 2026, 11, 27, 15)),
        }

    async def test_reschedule_with_nothing_booked_offers_a_message_then_a_new_booking(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("I want to reschedule")
        assert answer == (
            "I don't see an upcoming booking under the number you're calling from. If it was "
            "made under another number or name, I can take a message and the team will find "
            "it and call you back. Would you like to leave one?"
        )
        answer = await call.say("no, but can you book me a haircut on Friday at 11 then? I'm Maria")
        assert "Shall I text the confirmation" in answer
        await call.say("yes")
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 27, 11))}

    async def test_booked_under_my_husbands_phone_becomes_a_message(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14, phone="+15555550111", name="Tom")
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("hi, I need to cancel my haircut on Saturday")
        assert "another number or name" in answer
        # Another number's bookings are never read out on the phone.
        assert "Tom" not in answer and "2 PM" not in answer
        answer = await call.say("yeah please, it's under my husband's phone")
        assert "What would you like me to pass on?" in answer
        await call.say("It's Lisa, a haircut on Saturday under Tom's number, please cancel it")
        # The team cancels it once they've checked: nothing is changed from this call.
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}
        assert call.engine.state.outcome == "message_taken"


class TestMovesByDayOrTime:
    """Moves said without "appointment" or the service: "my Monday one", "my 3 o'clock". The
    first day or time picks the booking, the second is the new slot; never a second booking."""

    @pytest.mark.parametrize(
        ("said", "new_start"),
        [
            ("can I move my Monday one to Friday at 3", (2026, 11, 27, 15)),
            ("can I change my Monday one to Wednesday at 2", (2026, 12, 2, 14)),
            (
                "I can't make Monday, can we do Wednesday instead at the same time",
                (2026, 12, 2, 12, 15),
            ),
            ("could I push my Monday one to Friday at 3 please", (2026, 11, 27, 15)),
            (
                "I won't be able to make it on Monday, could we do Wednesday, same time?",
                (2026, 12, 2, 12, 15),
            ),
        ],
    )
    async def test_the_monday_one_is_moved(self, demo, said, new_start):
        await booked(demo, "Haircut", 2026, 11, 30, 12, 15)
        await booked(demo, "Manicure", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say(said)
        assert answer.startswith("Your haircut on Monday, November 30th at 12:15 PM moves to ")
        assert answer.endswith("Shall I move it?")
        assert "What would you like to book" not in answer
        await call.say("yes")
        assert await rows(demo) == {
            ("Haircut", "cancelled", local(demo, 2026, 11, 30, 12, 15)),
            ("Haircut", "confirmed", local(demo, *new_start)),
            ("Manicure", "confirmed", local(demo, 2026, 11, 27, 11)),
        }
        assert call.engine.state.outcome == "moved"

    async def test_my_3_oclock_on_friday_to_saturday(self, demo):
        await booked(demo, "Manicure", 2026, 11, 27, 15)
        await booked(demo, "Haircut", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say("can I move my 3 o'clock on Friday to Saturday")
        assert answer == (
            "Your manicure on Friday, November 27th at 3 PM moves to Saturday, November 28th at "
            "3 PM. Shall I move it?"
        )
        await call.say("yes please")
        assert await confirmed(demo) == {
            ("Manicure", local(demo, 2026, 11, 28, 15)),
            ("Haircut", local(demo, 2026, 11, 27, 11)),
        }

    async def test_my_2_45_to_4_30_same_day_keeps_the_day(self, demo):
        await booked(demo, "Beard trim", 2026, 11, 27, 14, 45)
        await booked(demo, "Haircut", 2026, 11, 30, 11)
        call = await Conversation.start(demo)
        answer = await call.say("could you move my 2:45 to 4:30 same day")
        assert answer == (
            "Your beard trim on Friday, November 27th at 2:45 PM moves to Friday, November 27th "
            "at 4:30 PM. Shall I move it?"
        )
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Beard trim", local(demo, 2026, 11, 27, 16, 30)),
            ("Haircut", local(demo, 2026, 11, 30, 11)),
        }

    async def test_a_move_from_a_day_with_no_booking_asks_which_and_books_nothing(self, demo):
        await booked(demo, "Haircut", 2026, 11, 30, 12, 15)
        await booked(demo, "Manicure", 2026, 11, 27, 11)
        call = await Conversation.start(demo)
        answer = await call.say("can I move my Thursday one to Saturday at 2")
        assert answer == (
            "I don't have a booking for you then. Which one: your manicure on "
            "Friday at 11 AM or your haircut on Monday at 12:15 PM?"
        )
        answer = await call.say("the Monday one")
        assert "haircut on Monday, November 30th at 12:15 PM moves to Saturday" in answer
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 28, 14)),
            ("Manicure", local(demo, 2026, 11, 27, 11)),
        }


class TestTwoServices:
    async def test_a_haircut_and_a_beard_trim_are_booked_one_at_a_time(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("can I get a haircut and a beard trim on Friday at 11 30")
        assert answer.startswith("I can book those one at a time. Let's start with the haircut.")
        await call.say("Jo Park")
        answer = await call.say("yes")
        assert answer == (
            "A haircut for Jo Park on Friday, November 27th at 11:30 AM. Shall I book it?"
        )
        answer = await call.say("yes")
        assert answer.startswith("You're all set, Jo Park: a haircut on Friday")
        assert "Shall I book the beard trim too" in answer and not call.ended
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 27, 11, 30))}
        answer = await call.say("yes please")
        assert answer.startswith("A beard trim for Jo Park on Friday, November 27th at")
        await call.say("yes")
        assert call.ended
        services = {name for name, _ in await confirmed(demo)}
        assert services == {"Haircut", "Beard trim"}
        assert len(await confirmed(demo)) == 2

    async def test_no_to_the_second_service_ends_with_just_the_first(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Jo Park, a haircut and a beard trim on Friday at 11 30")
        await call.say("yes")
        assert "Shall I book the beard trim too" in await call.say("yes")
        answer = await call.say("no thanks")
        assert "Goodbye" in answer and call.ended
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 27, 11, 30))}

    async def test_a_haircut_actually_a_manicure_is_one_service(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("a haircut, actually make it a manicure, Friday at 11, I'm Jo")
        assert "one at a time" not in answer


# -- Which service: a word that fits two is asked about, never picked -------------------------


class TestWhichService:
    """The demo haircut's other names include "trim up"; the beard trim's include "trim"."""

    async def test_a_trim_asks_haircut_or_beard_trim_and_keeps_the_time(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("Hi, I need a trim tomorrow at 2")
        assert answer == "A beard trim or a haircut?"
        answer = await call.say("a haircut")
        assert "Can I take your name" in answer
        await call.say("Dana")
        answer = await call.say("yes")
        assert answer == "A haircut for Dana on Thursday, November 26th at 2 PM. Shall I book it?"
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 26, 14))}

    async def test_the_beard_one(self, demo):
        call = await Conversation.start(demo)
        assert await call.say("can I book a trim Friday at 10, I'm Joe") == (
            "A beard trim or a haircut?"
        )
        await call.say("the beard one")
        answer = await call.say("yes")
        assert answer == "A beard trim for Joe on Friday, November 27th at 10 AM. Shall I book it?"

    async def test_a_trim_and_a_colour_asks_which_trim_first(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("Can I get a trim and a colour tomorrow at 2? I'm Dana")
        assert answer == "A beard trim or a haircut?"
        assert await rows(demo) == set()

    async def test_trim_my_beard_needs_no_question(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("I'd like to get my beard trimmed tomorrow at 11, I'm Joe")
        assert "or a haircut" not in answer and "Shall I text" in answer
        answer = await call.say("yes")
        assert answer.startswith("A beard trim for Joe on Thursday")

    async def test_what_do_you_charge_for_a_trim_gives_both(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("What do you charge for a trim?")
        assert answer.startswith("A beard trim is 15 dollars. A haircut is 35 dollars.")


# -- Which booking: the one the caller named, or a list they can pick from -------------------


class TestWhichBooking:
    async def test_cancel_my_manicure_next_monday_does_not_offer_the_haircut(self, demo):
        haircut = await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("I need to cancel my manicure next Monday")
        assert "manicure for Maria on Monday, November 30th at 3 PM. Shall I cancel it?" in answer
        assert "haircut" not in answer.lower()
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", haircut.start)}

    async def test_a_manicure_on_another_day_is_not_denied_then_offered(self, demo):
        await booked(demo, "Manicure", 2026, 11, 27, 15, 45)
        await booked(demo, "Haircut", 2026, 11, 30, 12)
        call = await Conversation.start(demo)
        answer = await call.say("I need to cancel my manicure next Monday")
        assert answer.startswith("I don't have a manicure for you then. Which one: your ")
        assert "I don't see" not in answer
        await call.say("no, leave it, bye")
        assert len(await confirmed(demo)) == 2

    async def test_unclear_cancel_lists_them_and_the_monday_one_is_taken(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("hiya, I have to cancel my appointment")
        assert answer == (
            "Which one: your haircut on Saturday at 2 PM or your manicure on Monday at 3 PM?"
        )
        answer = await call.say("the Monday one")
        assert "manicure for Maria on Monday, November 30th at 3 PM" in answer
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}

    async def test_the_second_one(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Beard trim", 2026, 12, 1, 9)
        call = await Conversation.start(demo)
        await call.say("cancel my booking please")
        answer = await call.say("the second one")
        assert "beard trim for Maria on Tuesday, December 1st at 9 AM" in answer
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}

    async def test_no_the_other_one(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        assert "haircut for Maria" in await call.say("I want to cancel my haircut")
        answer = await call.say("no, the other one")
        assert "manicure for Maria on Monday, November 30th at 3 PM. Shall I cancel it?" in answer
        await call.say("yes that's right")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}

    async def test_a_service_they_dont_have_booked_lists_what_they_have(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("can you cancel my colouring")
        assert "I don't see a hair colouring booked under this number." in answer
        assert "Which one" in answer
        answer = await call.say("no, leave them")
        assert "leave them as they are" in answer
        assert len(await confirmed(demo)) == 2

    async def test_withheld_number_offers_a_message_and_yes_takes_it(self, demo):
        call = await Conversation.start(demo, caller="")
        answer = await call.say("I need to cancel my appointment")
        assert "Would you like to leave a message instead?" in answer
        assert "What would you like me to pass on" in await call.say("yes")
        await call.say("It's Bob Stone, please cancel my Friday haircut, thanks")
        assert call.ended and call.engine.state.outcome == "message_taken"
        assert "cancel my Friday haircut" in call.engine.state.message


# -- Consent: exactly what was read back, and only on a yes ---------------------------------


class TestConsent:
    async def test_a_corrected_number_is_acknowledged_read_back_and_used(self, demo):
        call = await Conversation.start(demo)
        await call.say("haircut Friday at 2, I'm Dee, text 646 555 0188")
        assert "6 4 6, 5 5 5, 0 1 8 8" in call.transcript[-1][1]
        answer = await call.say("sorry no, the number is 646 555 0189")
        assert answer.startswith("Got it, 6 4 6, 5 5 5, 0 1 8 9.")
        assert "text the confirmation to 6 4 6, 5 5 5, 0 1 8 9. Shall I book it?" in answer
        await call.say("yes")
        (booking,) = [b async for b in Booking.objects.filter(business=demo)]
        assert booking.customer_phone == "+16465550189"

    async def test_a_read_back_the_caller_talked_over_is_read_again(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        call.engine.heard("A haircut for Maria on Thursday")  # cut before the time
        answer = await call.say("yes")
        assert await rows(demo) == set()
        assert answer == (
            "Just to be sure: A haircut for Maria on Thursday, November 26th at 3 PM. "
            "Shall I book it?"
        )
        assert "You're all set" in await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 26, 15))}

    async def test_a_question_after_the_read_back_needs_a_fresh_yes(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        answer = await call.say("sorry, where are you again?")
        assert "12 Main Street" in answer
        assert answer.endswith("Thursday, November 26th at 3 PM. Shall I book it?")
        assert await rows(demo) == set()
        await call.say("great, yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 26, 15))}

    async def test_wait_how_much_is_that_is_answered_then_read_back_again(self, demo):
        call = await Conversation.start(demo)
        await call.say("Hi, haircut Friday at 11 please, I'm Dana")
        await call.say("yep")
        read_back = "A haircut for Dana on Friday, November 27th at 11 AM. Shall I book it?"
        answer = await call.say("wait, how much is that?")
        assert answer == f"A haircut is 35 dollars. {read_back}"
        answer = await call.say("oh and how long does it take?")
        assert answer == f"A haircut takes about 30 minutes. {read_back}"
        answer = await call.say("hang on, where are you again?")
        assert answer.startswith("We're at 12 Main Street") and answer.endswith(read_back)
        assert await rows(demo) == set()
        assert "all set" in await call.say("ok great, yes book it")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 27, 11))}

    async def test_a_question_at_the_read_back_then_no_books_nothing(self, demo):
        call = await Conversation.start(demo)
        await call.say("beard trim tomorrow at 4, it's Sam")
        await call.say("yes")
        answer = await call.say("wait, how much is a beard trim?")
        assert answer.startswith("A beard trim is 15 dollars. A beard trim for Sam on")
        answer = await call.say("hmm no, that's too much, never mind")
        assert "nothing's been booked" in answer and call.ended
        assert await rows(demo) == set()

    async def test_hmm_is_not_a_yes_to_a_cancellation(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        await call.say("cancel my appointment")
        answer = await call.say("hmm")
        assert answer == (
            "Sorry, I need a yes or a no. A haircut for Maria on Saturday, November 28th at "
            "2 PM. Shall I cancel it?"
        )
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}

    async def test_the_desk_refuses_to_write_without_an_agreed_read_back(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        desk, change = call.engine.desk, call.engine.pending
        with pytest.raises(PermissionError):
            await desk.commit(change)
        assert desk.agree(change, heard="A haircut on Thursday", utterance="yes") is not None
        with pytest.raises(PermissionError):
            await desk.commit(change)
        assert await rows(demo) == set()


# -- Returning callers: the name on file is read back, not asked for again ----------------------


class TestReturningCallers:
    async def test_the_name_on_file_is_read_back_instead_of_asked(self, demo):
        await booked(demo, "Haircut", 2026, 11, 20, 14, name="Ana Ruiz")  # last week
        call = await Conversation.start(demo)
        answer = await call.say("Hi, can I get a manicure on Friday at 3?")
        assert answer == (
            "A manicure for Ana Ruiz on Friday, November 27th at 3 PM. Shall I book it?"
        )
        assert "all set, Ana Ruiz" in await call.say("yes please")
        (booking,) = [b async for b in Booking.objects.filter(start__gt=NOW)]
        assert (booking.customer_name, booking.customer_phone) == ("Ana Ruiz", CALLER)

    async def test_no_its_for_my_daughter_mia_switches_the_name(self, demo):
        await booked(demo, "Haircut", 2026, 12, 5, 11, name="Ana Ruiz")
        call = await Conversation.start(demo)
        await call.say("I'd like to book a beard trim, Friday at 3")
        answer = await call.say("no, it's for my daughter, Mia")
        assert answer == (
            "For Mia, then. A beard trim for Mia on Friday, November 27th at 3 PM. Shall I book it?"
        )
        await call.say("yes")
        names = {b.customer_name async for b in Booking.objects.all()}
        assert names == {"Ana Ruiz", "Mia"}

    async def test_its_for_my_husband_asks_his_name(self, demo):
        await booked(demo, "Haircut", 2026, 11, 20, 14, name="Ana Ruiz")
        call = await Conversation.start(demo)
        await call.say("manicure Friday at 3 please")
        answer = await call.say("oh no, it's for my husband")
        assert answer == "Of course. What name shall I put it under?"
        assert await rows(demo) == {("Haircut", "confirmed", local(demo, 2026, 11, 20, 14))}
        answer = await call.say("Tom Ruiz")
        assert (
            answer == "A manicure for Tom Ruiz on Friday, November 27th at 3 PM. Shall I book it?"
        )
        await call.say("yes")
        assert ("Manicure", local(demo, 2026, 11, 27, 15)) in await confirmed(demo)

    async def test_booking_for_my_son_does_not_use_the_name_on_file(self, demo):
        await booked(demo, "Haircut", 2026, 11, 20, 14, name="Ana Ruiz")
        call = await Conversation.start(demo)
        answer = await call.say("Hi, I'd like to book a haircut for my son, Friday at 4")
        assert answer == "Great. What name shall I put it under?"
        answer = await call.say("Leo")
        assert "Ana" not in answer and "Thanks, Leo" in answer


# -- Texts for every change, once each --------------------------------------------------------


class TestTexts:
    async def test_a_cancellation_is_texted_once(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        await call.say("I can't make my appointment, please cancel it")
        assert "I'll text you to confirm" in await call.say("yes")
        (sent,) = await texts_sent()
        assert sent[:2] == ("booking_cancelled", CALLER)
        assert "haircut at Demo Salon on Sat, Nov 28 at 2:00 PM is cancelled" in sent[2]
        assert await texts_sent() == [sent]

    async def test_a_move_is_texted_once_with_the_new_time(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        await call.say("can I move my appointment to Monday at 11")
        await call.say("yes")
        (sent,) = await texts_sent()
        assert sent[:2] == ("booking_moved", CALLER)
        assert "has moved to Mon, Nov 30 at 11:00 AM" in sent[2]
        kinds = [t.kind async for t in OutboxTask.objects.filter(kind__startswith="sms.")]
        assert kinds == ["sms.booking_change"]

    async def test_a_booking_is_confirmed_by_text_once(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        await call.say("yes")
        (sent,) = await texts_sent()
        assert sent[:2] == ("booking_confirmation", CALLER)
        assert await texts_sent() == [sent]


# -- Questions: answered, then back to what the caller was doing ------------------------------


class TestQuestions:
    async def test_when_do_you_shut_on_fridays(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("When do you shut on Fridays?")
        assert "Friday we're open 9 AM to 6 PM" in answer
        assert "book" in answer and not call.ended

    async def test_are_you_open_on_sunday(self, demo):
        call = await Conversation.start(demo)
        assert "closed on Sundays" in await call.say("Are you open on Sunday?")

    async def test_hours_at_the_weekend(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("what are your hours this weekend?")
        assert "Saturday we're open 10 AM to 4 PM and we're closed on Sundays." in answer

    async def test_are_you_open_today(self, demo):
        call = await Conversation.start(demo)
        assert "Today we're open 9 AM to 6 PM" in await call.say("are you open today?")

    async def test_a_special_day_is_said(self, demo):
        await DateException.objects.acreate(business=demo, date=date(2026, 11, 27), closed=True)
        call = await Conversation.start(demo)
        answer = await call.say("are you open this Friday?")
        assert "We're closed on Friday, November 27th" in answer
        answer = await call.say("what are your opening hours?")
        assert "Special hours" in answer and "Friday, November 27th" in answer

    async def test_what_do_you_charge_for_a_beard_trim(self, demo):
        call = await Conversation.start(demo)
        assert "A beard trim is 15 dollars." in await call.say(
            "What do you charge for a beard trim?"
        )

    async def test_a_price_range(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("how much is a colour roughly?")
        assert "A hair colouring is from 80 to 150 dollars." in answer

    async def test_no_price_set_is_never_invented(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("how much for a manicure?")
        assert "the salon will confirm the price" in answer
        assert "dollars" not in answer

    async def test_prices_are_said_in_the_business_currency(self, demo):
        demo.currency = "GBP"
        await demo.asave(update_fields=["currency"])
        call = await Conversation.start(demo)
        assert "A haircut is 35 pounds." in await call.say("how much d'you charge for a cut?")
        answer = await call.say("and a colour?")
        assert "from 80 to 150 pounds" in answer and "dollar" not in answer

    async def test_when_is_my_appointment_with_nothing_booked(self, demo):
        call = await Conversation.start(demo, caller="+15555550999")
        answer = await call.say("hiya, when's my appointment? I've forgotten")
        assert answer.startswith(
            "I don't see an upcoming booking under the number you're calling from. If it was "
            "made under another number or name, I can take a message"
        )
        answer = await call.say("oh yes please, take a message")
        assert "What would you like me to pass on?" in answer

    async def test_questions_in_a_row_are_not_followed_by_the_same_long_question(self, demo):
        open_question = (
            "Is there anything else I can help with, or would you like to book something?"
        )
        call = await Conversation.start(demo)
        answer = await call.say("when do you shut on Fridays?")
        assert answer == f"Friday we're open 9 AM to 6 PM. {open_question}"
        answer = await call.say("and are you open Sundays?")
        assert answer == "We're closed on Sundays. Anything else?"
        answer = await call.say("how much is a cut?")
        assert answer == f"A haircut is 35 dollars. {open_question}"

    async def test_how_long_is_a_colour(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("How long is a colour?")
        assert "A hair colouring takes about an hour and a half." in answer

    async def test_what_time_was_my_booking_again(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        answer = await call.say("What time was my booking again?")
        assert "You have a haircut on Saturday, November 28th at 2 PM." in answer
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}

    async def test_where_are_you_and_what_do_you_do(self, demo):
        call = await Conversation.start(demo)
        assert "We're at 12 Main Street" in await call.say("where are you located?")
        assert "friendly neighbourhood salon" in await call.say("tell me about the salon")

    async def test_a_price_question_mid_booking_goes_back_to_the_question(self, demo):
        call = await Conversation.start(demo)
        assert "What time on Friday" in await call.say("a haircut on Friday please")
        answer = await call.say("how much is that?")
        assert answer == "A haircut is 35 dollars. What time on Friday would suit you?"
        assert "name" in await call.say("11 am")

    async def test_no_pedicure_then_a_manicure_keeps_the_day_and_time(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("Hi, can I get a pedicure on Friday at 3?")
        assert answer.startswith("I'm sorry, we don't offer pedicure. We offer beard trim,")
        answer = await call.say("oh ok, a manicure then")
        assert "What day" not in answer and "Can I take your name" in answer
        await call.say("Lena")
        answer = await call.say("yes")
        assert answer == "A manicure for Lena on Friday, November 27th at 3 PM. Shall I book it?"
        await call.say("yes")
        assert await confirmed(demo) == {("Manicure", local(demo, 2026, 11, 27, 15))}

    async def test_no_pedicures_keeps_the_name_and_the_morning(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("hi it's Kim, can I book pedicures for tomorrow morning?")
        assert "we don't offer pedicures" in answer
        answer = await call.say("I'll do nails then")
        assert answer.startswith("I can do tomorrow at 9 AM,")
        await call.say("the first one")
        answer = await call.say("sure")
        assert answer == "A manicure for Kim on Thursday, November 26th at 9 AM. Shall I book it?"

    async def test_a_massage_is_not_offered(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("Do you do massages?")
        assert "we don't offer massages" in answer
        assert "beard trim, hair colouring, haircut or manicure" in answer


# -- Letting it go: wrong numbers, never mind, messages only when wanted ---------------------


class TestEndings:
    async def test_wrong_number_ends_politely(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("oh sorry, wrong number")
        assert "Goodbye" in answer and call.ended
        assert call.engine.state.message == ""

    async def test_nah_its_fine_ill_ring_back_is_not_a_message(self, demo):
        call = await Conversation.start(demo)
        assert "take a message" in await call.say("can I talk to someone?")
        answer = await call.say("nah it's fine, I'll ring back later")
        assert "Goodbye" in answer and call.ended
        assert call.engine.state.message == ""
        assert call.engine.state.outcome != "message_taken"

    async def test_yes_to_leave_a_message_instead_takes_the_message(self, demo):
        call = await Conversation.start(demo, caller="")
        assert "leave a message instead" in await call.say("I want to move my appointment")
        assert "What would you like me to pass on" in await call.say("yes please")
        await call.say("Jo here, 555 555 0142, can someone move my Friday cut to Monday")
        assert call.engine.state.outcome == "message_taken"

    async def test_a_bare_yes_or_bye_when_asked_for_the_message_is_not_the_message(self, demo):
        call = await Conversation.start(demo)
        assert "take a message" in await call.say("can I talk to someone?")
        answer = await call.say("yes please")
        assert answer == "Go ahead: what would you like me to pass on?"
        await call.say("it's Jo, can Sam call me back about my colour")
        assert call.engine.state.outcome == "message_taken"
        assert call.engine.state.message.endswith("can Sam call me back about my colour")

        call = await Conversation.start(demo)
        await call.say("can I talk to someone?")
        answer = await call.say("bye")
        assert answer.startswith("No problem, no message then.") and call.ended
        assert call.engine.state.message == ""
        assert call.engine.state.outcome != "message_taken"

    async def test_yes_yes_yes_for_the_message_is_asked_for_at_most_twice(self, demo):
        """Issue #9: "Go ahead" is not asked forever; then a person, or a polite goodbye."""
        call = await Conversation.start(demo, caller="")
        assert "leave a message instead" in await call.say("I want to move my appointment")
        assert "What would you like me to pass on" in await call.say("yes")
        assert await call.say("yes") == "Go ahead: what would you like me to pass on?"
        answer = await call.say("yes")
        assert "pass on" not in answer and "Goodbye" in answer and call.ended, call
        assert call.engine.state.message == "", call
        assert call.engine.state.outcome != "message_taken", call

        demo.transfer_number = "+15555550155"
        await demo.asave(update_fields=["transfer_number"])
        call = await Conversation.start(demo, caller="")
        assert "What would you like me to pass on" in await call.say("can I leave a message?")
        await call.say("yes")
        answer = await call.say("yeah")
        assert "pass on" not in answer and "put you through" in answer, call
        assert call.engine.state.message == "", call

    async def test_declined_read_back_then_never_mind_ends_with_nothing_booked(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        answer = await call.say("no, never mind, I'll call back")
        assert "Goodbye" in answer and call.ended
        assert await rows(demo) == set()

    async def test_bye_at_the_read_back_books_nothing(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        answer = await call.say("actually, bye")
        assert "nothing's been booked" in answer and call.ended
        assert await rows(demo) == set()

    async def test_no_then_never_mind_ends_within_two_turns(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        assert "What would you like to change" in await call.say("no")
        answer = await call.say("ah forget it, I'll call you back")
        assert "Goodbye" in answer and call.ended
        assert await rows(demo) == set()

    async def test_nothing_else_after_keeping_a_booking(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        await call.say("cancel my appointment")
        assert "leave it as it is" in await call.say("no")
        answer = await call.say("no thanks")
        assert "Goodbye" in answer and call.ended
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}


# -- Loops: the same question at most twice ----------------------------------------------------


class TestLoops:
    async def test_mm_hmm_to_the_number_question_is_a_yes(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        answer = await call.say("mm-hmm")
        assert answer.startswith("A haircut for Maria on Thursday, November 26th at 3 PM")

    @pytest.mark.parametrize(
        "back",
        [
            "actually the one I'm calling from is fine",
            "same number",
            "this one",
            "the number I'm calling from is fine",
        ],
    )
    async def test_no_to_the_number_then_the_one_im_calling_from_books_it(self, demo, back):
        call = await Conversation.start(demo)
        await call.say("this is Jo Park, haircut tomorrow at 3")
        assert "What number should I text" in await call.say("no")
        answer = await call.say(back)
        assert answer == (
            "A haircut for Jo Park on Thursday, November 26th at 3 PM. Shall I book it?"
        )
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 26, 15))}
        assert [b.customer_phone async for b in Booking.objects.all()] == [CALLER]

    async def test_yeah_no_thats_fine_to_the_number_question_is_a_yes(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Jo Park, haircut tomorrow at 3")
        answer = await call.say("yeah no, that's fine")
        assert answer == (
            "A haircut for Jo Park on Thursday, November 26th at 3 PM. Shall I book it?"
        )
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 26, 15))}

    async def test_no_not_this_one_asks_for_the_digits(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Jo Park, haircut tomorrow at 3")
        assert "What number should I text" in await call.say("no, not this one")

    async def test_the_number_question_is_not_asked_a_third_time(self, demo):
        call = await Conversation.start(demo)
        question = await call.say("this is Maria, haircut tomorrow at 3")
        assert "number you're calling from" in question
        assert "number you're calling from" in await call.say("uhh")
        answer = await call.say("I don't know")
        assert "leave a message" in answer
        assert answer.count("number you're calling from") == 0

    async def test_going_nowhere_ends_politely(self, demo):
        call = await Conversation.start(demo)
        await call.say("blah")
        await call.say("???")
        assert "leave a message" in await call.say("flibber")
        answer = await call.say("wibble wobble")
        assert "Goodbye" in answer and call.ended
        assert call.engine.state.message == ""

    async def test_after_two_misses_a_person_is_offered_when_there_is_one(self, demo):
        demo.transfer_number = "+15555550155"
        await demo.asave(update_fields=["transfer_number"])
        call = await Conversation.start(demo)
        await call.say("hrrm")
        await call.say("zzz")
        assert "put you through" in await call.say("mmm grr")
        assert "put you through to someone now" in await call.say("yes")
        assert call.engine.ending.reason == "transfer"


# -- Corrections: applied and acknowledged ------------------------------------------------------


class TestCorrections:
    async def test_actually_make_that_saturday(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut Friday at 11")
        await call.say("yes")
        answer = await call.say("actually make that Saturday")
        assert answer.startswith("Saturday then.")
        assert "Saturday, November 28th at 11 AM. Shall I book it?" in answer
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 11))}

    async def test_make_it_4_is_acknowledged(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        answer = await call.say("no, make it 4")
        assert answer.startswith("4 PM then.")

    async def test_a_corrected_name_is_acknowledged(self, demo):
        call = await Conversation.start(demo)
        await call.say("this is Maria, haircut tomorrow at 3")
        await call.say("yes")
        answer = await call.say("no, my name is Anna")
        assert answer.startswith("Sorry, Anna then.")
        assert "A haircut for Anna on" in answer

    async def test_a_name_corrected_in_the_same_breath_is_the_one_booked(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say(
            "hi, it's Jon, sorry, John with an h, John Smith, haircut tomorrow at 3"
        )
        assert answer.startswith("Thanks, John Smith.")
        answer = await call.say("yes")
        assert "A haircut for John Smith on Thursday, November 26th at 3 PM" in answer
        await call.say("yes")
        booking = await Booking.objects.aget(business=demo)
        assert booking.customer_name == "John Smith"

    async def test_sorry_after_a_name_is_not_a_correction(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("this is Maria, sorry to bother you, haircut tomorrow at 3")
        assert answer.startswith("Thanks, Maria.")
