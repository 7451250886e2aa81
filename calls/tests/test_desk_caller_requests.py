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
from django.core.management import call_command

from calls.dialogue import desk
from calls.models import Call
from calls.tests.conversation import Conversation, local
from calls.tests.test_desk_conversations import booked, confirmed, rows, texts_sent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_now")]


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


# -- "What time was my booking?" for a day -------------------------------------------------------


class TestMyBookingsOnADay:
    async def test_i_booked_something_for_monday_what_time_was_it(self, demo):
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Haircut", 2026, 12, 4, 11)
        call = await Conversation.start(demo)
        answer = await call.say("Hi, I booked something for Monday, what time was it again?")
        assert answer.startswith("Your manicure is on Monday, November 30th at 3 PM.")
        assert "haircut" not in answer and "What would you like to book" not in answer
        assert not call.ended
        await call.say("great, thanks, bye")
        assert call.ended and call.engine.state.outcome == "answered"
        assert len(await confirmed(demo)) == 2

    async def test_nothing_that_day_says_so_and_what_they_have(self, demo):
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("I think I booked something for Tuesday, what time was it?")
        assert answer.startswith(
            "I don't see a booking for you on Tuesday, December 1st. Your manicure is on "
            "Monday, November 30th at 3 PM."
        )
        assert len(await rows(demo)) == 1

    async def test_whens_my_appointment(self, demo):
        await booked(demo, "Manicure", 2026, 12, 7, 15)
        call = await Conversation.start(demo)
        answer = await call.say("when's my appointment?")
        assert answer.startswith("You have a manicure on Monday, December 7th at 3 PM.")

    async def test_do_i_have_anything_booked_next_week(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 12, 2, 15)
        await booked(demo, "Beard trim", 2026, 12, 9, 10)
        call = await Conversation.start(demo)
        answer = await call.say("do I have anything booked next week?")
        assert answer.startswith("Your manicure is on Wednesday, December 2nd at 3 PM.")
        assert "haircut" not in answer and "beard" not in answer

    async def test_do_i_have_anything_next_week_without_saying_booked(self, demo):
        await booked(demo, "Manicure", 2026, 12, 2, 15)
        call = await Conversation.start(demo)
        answer = await call.say("hiya, do I have anything next week?")
        assert answer.startswith("Your manicure is on Wednesday, December 2nd at 3 PM.")

    async def test_cancel_it_after_hearing_about_one_cancels_that_one(self, demo):
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Haircut", 2026, 12, 1, 11)
        call = await Conversation.start(demo)
        await call.say("I booked something for Monday, what time was it again?")
        answer = await call.say("oh, I can't do that. Can I cancel it?")
        assert answer == "A manicure for Maria on Monday, November 30th at 3 PM. Shall I cancel it?"
        await call.say("yes please")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 12, 1, 11))}

    async def test_move_it_to_4_after_hearing_about_one_moves_that_one(self, demo):
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Haircut", 2026, 12, 1, 11)
        call = await Conversation.start(demo)
        await call.say("I booked something for Monday, what time was it again?")
        answer = await call.say("right, can you move it to 4?")
        assert answer == (
            "Your manicure on Monday, November 30th at 3 PM moves to Monday, November 30th at "
            "4 PM. Shall I move it?"
        )
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Manicure", local(demo, 2026, 11, 30, 16)),
            ("Haircut", local(demo, 2026, 12, 1, 11)),
        }

    async def test_cancel_it_after_hearing_about_two_asks_which(self, demo):
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Haircut", 2026, 12, 1, 11)
        call = await Conversation.start(demo)
        await call.say("when's my appointment?")
        assert (await call.say("ok, cancel it please")).startswith("Which one:")
        assert len(await confirmed(demo)) == 2

    async def test_someone_elses_bookings_are_not_read_out(self, demo):
        await booked(demo, "Manicure", 2026, 11, 30, 15, phone="+15555550111")
        call = await Conversation.start(demo)
        answer = await call.say("I booked something for Monday, what time was it again?")
        assert "I don't see an upcoming booking under the number you're calling from" in answer
        assert "manicure" not in answer.lower()


# -- Moves by an offset from the booking's own time ---------------------------------------------


class TestMovesByOffset:
    async def test_push_my_manicure_back_30_minutes(self, demo):
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("hi, could you push my manicure back 30 minutes?")
        assert answer == (
            "Your manicure on Monday, November 30th at 3 PM moves to Monday, November 30th at "
            "3:30 PM. Shall I move it?"
        )
        assert "now on Monday, November 30th at 3:30 PM" in await call.say("yes please")
        assert await rows(demo) == {
            ("Manicure", "cancelled", local(demo, 2026, 11, 30, 15)),
            ("Manicure", "confirmed", local(demo, 2026, 11, 30, 15, 30)),
        }
        assert call.engine.state.outcome == "moved"
        moved = [t for t in await texts_sent() if t[0] == "booking_moved"]
        assert len(moved) == 1 and "Mon, Nov 30 at 3:30 PM" in moved[0][2]

    async def test_can_we_make_it_half_an_hour_later(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        answer = await call.say(
            "Hi, it's about my appointment Saturday, can we make it half an hour later?"
        )
        assert (
            "Your haircut on Saturday, November 28th at 2 PM moves to Saturday, November 28th "
            "at 2:30 PM" in answer
        )
        await call.say("yep")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14, 30))}

    async def test_move_it_an_hour_earlier(self, demo):
        await booked(demo, "Beard trim", 2026, 12, 2, 11)
        call = await Conversation.start(demo)
        answer = await call.say("can you move it an hour earlier")
        assert (
            "Your beard trim on Wednesday, December 2nd at 11 AM moves to Wednesday, December "
            "2nd at 10 AM" in answer
        )
        await call.say("yes")
        assert await confirmed(demo) == {("Beard trim", local(demo, 2026, 12, 2, 10))}

    async def test_an_offset_into_a_taken_time_offers_others_and_keeps_the_booking(self, demo):
        await booked(demo, "Haircut", 2026, 11, 30, 11)
        await booked(demo, "Haircut", 2026, 11, 30, 11, 30, phone="+15555550111", name="Ann")
        call = await Conversation.start(demo)
        answer = await call.say("push my haircut back half an hour")
        assert "11:30 AM is already booked" in answer and "Shall I move it?" not in answer
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 30, 11)),
            ("Haircut", local(demo, 2026, 11, 30, 11, 30)),
        }
        answer = await call.say("the first one")
        assert "Your haircut on Monday, November 30th at 11 AM moves to" in answer
        await call.say("yes")
        assert len(await confirmed(demo)) == 2
        assert ("Haircut", local(demo, 2026, 11, 30, 11)) not in await confirmed(demo)

    async def test_with_two_bookings_an_offset_asks_which_then_moves_that_one(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("can we make it an hour later?")
        assert answer.startswith("Which one:")
        answer = await call.say("the Monday one")
        assert (
            "Your manicure on Monday, November 30th at 3 PM moves to Monday, November 30th at 4 PM"
            in answer
        )
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 28, 14)),
            ("Manicure", local(demo, 2026, 11, 30, 16)),
        }


# -- Cancelling every booking in one go ----------------------------------------------------------


class TestCancelAll:
    async def test_cancel_both_my_appointments_reads_both_back_and_one_yes_cancels_both(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Haircut", 2026, 11, 30, 11, phone="+15555550111", name="Ann")
        call = await Conversation.start(demo)
        answer = await call.say("hi, I need to cancel both my appointments please")
        assert answer == (
            "Your haircut on Saturday, November 28th at 2 PM and your manicure on Monday, "
            "November 30th at 3 PM. Shall I cancel both?"
        )
        assert len(await confirmed(demo)) == 3
        answer = await call.say("yes please")
        assert answer.startswith("Both are cancelled") and call.ended
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 30, 11))}  # Ann's
        assert call.engine.state.outcome == "cancelled"
        cancelled = [t for t in await texts_sent() if t[0] == "booking_cancelled"]
        assert len(cancelled) == 2
        assert {t[1] for t in cancelled} == {"+15555550123"}
        assert any("haircut" in t[2] for t in cancelled)
        assert any("manicure" in t[2] for t in cancelled)

    async def test_cancel_all_of_them_after_hearing_what_they_have(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Beard trim", 2026, 12, 2, 10)
        call = await Conversation.start(demo)
        answer = await call.say("what have I got booked?")
        assert "haircut" in answer and "manicure" in answer and "beard trim" in answer
        answer = await call.say("ugh, I'm moving away. Cancel all of them.")
        assert answer.endswith("Shall I cancel all 3?")
        for words in ("haircut on Saturday", "manicure on Monday", "beard trim on Wednesday"):
            assert words in answer
        await call.say("yep")
        assert await confirmed(demo) == set()
        assert len([t for t in await texts_sent() if t[0] == "booking_cancelled"]) == 3

    async def test_cancel_everything_i_have_then_no_keeps_them_all(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        assert "Shall I cancel both?" in await call.say("can you cancel everything I have")
        await call.say("no, actually, leave them")
        await call.say("bye")
        assert len(await confirmed(demo)) == 2
        assert call.engine.state.outcome == "declined"
        assert await texts_sent() == []

    async def test_both_of_them_when_asked_which(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        assert (await call.say("I need to cancel my appointment")).startswith("Which one:")
        assert "Shall I cancel both?" in await call.say("both of them actually")
        await call.say("yes")
        assert await confirmed(demo) == set()

    async def test_no_just_the_monday_one_cancels_only_that(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        await call.say("cancel both my bookings")
        answer = await call.say("no, just the Monday one")
        assert answer == "A manicure for Maria on Monday, November 30th at 3 PM. Shall I cancel it?"
        await call.say("yes")
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 14))}

    async def test_both_with_only_one_booking_says_what_they_have_and_cancels_nothing_yet(
        self, demo
    ):
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("cancel both my appointments")
        assert answer == (
            "You only have one booking with us: a manicure for Maria on Monday, November 30th "
            "at 3 PM. Shall I cancel it?"
        )
        assert await confirmed(demo) == {("Manicure", local(demo, 2026, 11, 30, 15))}
        await call.say("oh, then no, I'll keep it")
        assert await confirmed(demo) == {("Manicure", local(demo, 2026, 11, 30, 15))}

    async def test_both_of_three_asks_which_and_cancels_only_what_is_read_back(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Beard trim", 2026, 12, 2, 10)
        call = await Conversation.start(demo)
        answer = await call.say("I need to cancel both my appointments")
        assert answer.startswith("You have 3 bookings: your haircut on Saturday at 2 PM")
        assert answer.endswith("Shall I cancel all 3, or which one?")
        assert len(await confirmed(demo)) == 3
        answer = await call.say("oh, just the Monday one then")
        assert answer == "A manicure for Maria on Monday, November 30th at 3 PM. Shall I cancel it?"
        await call.say("yes")
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 28, 14)),
            ("Beard trim", local(demo, 2026, 12, 2, 10)),
        }

    async def test_all_three_when_asked_which(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        await booked(demo, "Beard trim", 2026, 12, 2, 10)
        call = await Conversation.start(demo)
        await call.say("cancel both of my appointments")
        assert (await call.say("sorry, all three")).endswith("Shall I cancel all 3?")
        await call.say("yes")
        assert await confirmed(demo) == set()

    async def test_a_yes_to_a_read_back_heard_only_in_part_cancels_nothing(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        await call.say("cancel both please")
        call.engine.heard("Your haircut on Saturday, November 28th at 2 PM and")  # talked over
        answer = await call.say("yes")
        assert answer.startswith("Just to be sure:") and "Shall I cancel both?" in answer
        assert len(await confirmed(demo)) == 2

    async def test_cancelling_both_is_one_transaction(self, demo, monkeypatch):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        await booked(demo, "Manicure", 2026, 11, 30, 15)
        queue = desk.enqueue_booking_change_text
        queued: list[int] = []

        def second_fails(*, booking_id, kind):
            if queued:
                raise RuntimeError("database went away")
            queued.append(booking_id)
            return queue(booking_id=booking_id, kind=kind)

        monkeypatch.setattr(desk, "enqueue_booking_change_text", second_fails)
        call = await Conversation.start(demo)
        await call.say("cancel both of my appointments")
        answer = await call.say("yes")
        assert "something went wrong" in answer
        assert len(await confirmed(demo)) == 2
        assert await texts_sent() == []
