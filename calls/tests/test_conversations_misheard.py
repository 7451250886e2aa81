"""Callers who are easy to misread (issue #9): "the 10:45 one" is not 1 PM, "Monday the 8th"
when the 8th is a Tuesday is asked about, never taken as today. What isn't understood is
asked about; a misread caller never ends up with a wrong booking.

Demo Salon on a frozen Wednesday, 2026-11-25 10:00 in New York: Thursday the 26th is
'tomorrow', the 8th of December is a Tuesday.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bookings.models import Booking, DateException, Service
from bookings.tests.factories import BookingFactory, acreate
from calls.tests.conversation import CALLER, Conversation, demo_business, local

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/New_York"))
OTHER = "+15555550999"


@pytest.fixture(autouse=True)
def frozen_now(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False
    settings.SMS_BACKEND = "console"
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
async def demo():
    return await demo_business()


async def booked(demo, service: str, *args, phone: str = OTHER, name: str = "Al Bo"):
    service_row = await Service.objects.aget(business=demo, name=service)
    return await acreate(
        BookingFactory,
        service=service_row,
        start=local(demo, *args),
        customer_phone=phone,
        customer_name=name,
    )


async def mine(demo) -> set[tuple[str, datetime]]:
    return {
        (b.service.name, b.start)
        async for b in Booking.objects.filter(
            business=demo, customer_phone=CALLER, status="confirmed"
        ).select_related("service")
    }


# -- "The 10:45 one": the "one" is an offer, not 1 o'clock --------------------------------


class TestTheOne:
    @pytest.mark.parametrize(
        ("said", "hour", "minute"),
        [("the 10:45 one", 10, 45), ("the 11 one", 11, 0), ("can I do the 11:15 one", 11, 15)],
    )
    async def test_a_time_not_offered_is_that_time_on_the_same_day(self, demo, said, hour, minute):
        await booked(demo, "Haircut", 2026, 11, 26, 10)
        call = await Conversation.start(demo)
        answer = await call.say("haircut tomorrow at 10")
        assert "already booked" in answer and "Which would you like?" in answer, call
        answer = await call.say(said)
        assert "1 PM" not in answer, call
        await call.say("Maria Lopez")
        answer = await call.say("yes")
        if "Shall I book it?" not in answer:
            answer = await call.say("yes")
        assert "Thursday, November 26th" in answer, call
        await call.say("yes")
        assert await mine(demo) == {("Haircut", local(demo, 2026, 11, 26, hour, minute))}, call

    async def test_thats_the_one_at_a_list_asks_which_never_1_pm(self, demo):
        await booked(demo, "Haircut", 2026, 11, 26, 10)
        call = await Conversation.start(demo)
        await call.say("haircut tomorrow at 10")
        answer = await call.say("yup that's the one")
        assert answer.startswith("Which one: tomorrow at"), call
        assert "1 PM" not in answer, call
        assert await mine(demo) == set()

    async def test_the_first_one_with_nothing_offered_is_asked_again(self, demo):
        call = await Conversation.start(demo)
        await call.say("I'd like a colour on Thursday")
        answer = await call.say("the first one")
        assert "1 PM" not in answer and "Today" not in answer, call
        assert answer.endswith("What time tomorrow would suit you?"), call


# -- "Monday the 8th" when the 8th is a Tuesday: asked which, never today ------------------


class TestWeekdayNotTheDate:
    async def test_monday_the_8th_asks_and_books_the_day_chosen(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("hi, can I get a haircut Monday the 8th at 11")
        assert answer == "The 8th is a Tuesday. Tuesday the 8th, or Monday the 7th?", call
        await call.say("Monday")
        await call.say("Gus Lee")
        answer = await call.say("yes")
        assert answer == (
            "A haircut for Gus Lee on Monday, December 7th at 11 AM. Shall I book it?"
        ), call
        await call.say("yes")
        assert await mine(demo) == {("Haircut", local(demo, 2026, 12, 7, 11))}, call

    @pytest.mark.parametrize("said", ["Tuesday", "the 8th", "Tuesday the 8th", "the first one"])
    async def test_the_date_said_is_kept_when_chosen(self, demo, said):
        call = await Conversation.start(demo)
        await call.say("can I get a haircut Monday the 8th at 11")
        await call.say(said)
        await call.say("Gus Lee")
        answer = await call.say("yes")
        assert "Tuesday, December 8th at 11 AM" in answer, call
        await call.say("yes")
        assert await mine(demo) == {("Haircut", local(demo, 2026, 12, 8, 11))}, call

    async def test_a_name_said_instead_never_makes_it_today(self, demo):
        call = await Conversation.start(demo)
        await call.say("hi, can I get a haircut Monday the 8th at 11")
        answer = await call.say("Gus Lee")
        assert answer.endswith("Tuesday the 8th, or Monday the 7th?"), call
        for line in ("yes", "Gus Lee", "yes", "yes"):
            answer = await call.say(line)
            assert "November 25th" not in answer and "today" not in answer, call
        assert await mine(demo) == set(), call

    async def test_yes_to_which_day_books_nothing_today(self, demo):
        """The tester's call: yes, yes after the mismatch must not book today."""
        call = await Conversation.start(demo)
        await call.say("hi, can I get a haircut Friday the 12th at 11")
        await call.say("Gus Lee")
        await call.say("yes")
        await call.say("yes")
        assert all(start.date() != NOW.date() for _, start in await mine(demo)), call


# -- No mobile: booked under the number called from, and no text ---------------------------


async def texts_to(number: str) -> list[tuple[str, str]]:
    from asgiref.sync import sync_to_async

    from bookings import outbox
    from calls.sms.models import SmsMessage

    @sync_to_async
    def run():
        outbox.run_due(limit=100)
        return [(s.kind, s.status) for s in SmsMessage.objects.filter(to=number)]

    return await run()


class TestNoMobile:
    @pytest.mark.parametrize(
        "lines",
        [
            ["I don't have a mobile, it's a landline"],
            ["no", "I don't want a text"],
            ["I don't have a mobile, it's a landline", "I don't want a text"],
            ["no texts please, this is my home phone"],
        ],
    )
    async def test_a_landline_caller_is_booked_with_no_text(self, demo, lines):
        call = await Conversation.start(demo)
        await call.say("beard trim on Thursday the 10th at 3:45")
        answer = await call.say("Ola Nord")
        assert "Shall I text the confirmation to the number you're calling from" in answer
        for line in lines:
            answer = await call.say(line)
        assert answer.endswith(
            "A beard trim for Ola Nord on Thursday, December 10th at 3:45 PM, and no text, the "
            "booking's under the number you're calling from. Shall I book it?"
        ), call
        answer = await call.say("just book it please")
        assert "No text will be sent." in answer and "I'll text" not in answer, call
        assert await mine(demo) == {("Beard trim", local(demo, 2026, 12, 10, 15, 45))}, call
        assert all(status != "sent" for _, status in await texts_to(CALLER)), call

    async def test_no_text_without_a_yes_books_nothing(self, demo):
        call = await Conversation.start(demo)
        await call.say("beard trim on Thursday the 10th at 3:45")
        await call.say("Ola Nord")
        await call.say("I don't have a mobile, it's a landline")
        await call.say("ugh")
        assert await mine(demo) == set(), call

    async def test_a_mobile_given_after_all_gets_the_text(self, demo):
        call = await Conversation.start(demo)
        await call.say("beard trim on Thursday the 10th at 3:45")
        await call.say("Ola Nord")
        await call.say("I don't have a mobile, it's a landline")
        answer = await call.say("oh wait, text my daughter's mobile, 212 555 0199")
        assert "I'll text the confirmation to" in answer and "no text" not in answer, call


# -- Loops: never the same question more than twice, never a false "nothing soon" ----------


class TestNoLoops:
    async def test_too_far_ahead_asks_which_day_sooner(self, demo):
        call = await Conversation.start(demo)
        answer = await call.say("can I get a haircut on March 15th at 10")
        assert "60 days ahead" in answer and "anything free soon" not in answer, call
        assert answer.endswith("Which day up to Sunday, January 24th would suit you?"), call
        answers = [await call.say("yes") for _ in range(5)]
        assert all("60 days ahead" not in a for a in answers), call
        assert max(answers.count(a) for a in answers) <= 2, call
        assert await mine(demo) == set(), call

    async def test_too_far_ahead_then_a_day_keeps_the_time(self, demo):
        call = await Conversation.start(demo)
        await call.say("can I get a haircut on March 15th at 10")
        await call.say("ok, Friday then")
        await call.say("Maria Lopez")
        answer = await call.say("yes")
        assert answer.endswith("on Friday, November 27th at 10 AM. Shall I book it?"), call

    async def test_too_far_ahead_with_one_held_says_the_horizon_not_move_there(self, demo):
        await booked(demo, "Haircut", 2026, 12, 5, 14, phone=CALLER, name="Maria Lopez")
        call = await Conversation.start(demo)
        answer = await call.say("can I get a haircut on March 15th at 10")
        assert answer.startswith("I'm sorry, we only take bookings up to 60 days ahead."), call
        assert "March" not in answer and "Move it to" not in answer, call
        assert "You have a haircut on Saturday, December 5th at 2 PM." in answer, call

    async def test_move_or_another_keeps_the_part_of_day_said(self, demo):
        await booked(demo, "Hair colouring", 2026, 12, 3, 10, phone=CALLER, name="Maria Lopez")
        call = await Conversation.start(demo)
        answer = await call.say("colour on Thursday morning")
        assert "Move it to Thursday, November 26th in the morning, or book another" in answer, call

    async def test_a_full_morning_offers_the_rest_of_that_day(self, demo):
        await booked(demo, "Hair colouring", 2026, 11, 26, 9)
        await booked(demo, "Haircut", 2026, 11, 26, 10, 30)
        call = await Conversation.start(demo)
        answer = await call.say("I'd like a colour on Thursday morning")
        assert answer.startswith("I'm sorry, I don't have anything free tomorrow morning."), call
        assert "I can do tomorrow at" in answer, call
        answers = [await call.say("yes") for _ in range(3)]
        assert max(answers.count(a) for a in answers) <= 2, call
        assert await mine(demo) == set(), call

    @pytest.mark.parametrize(
        "said", ["I'd like a colour on Thursday morning", "a haircut tomorrow"]
    )
    async def test_a_closed_day_is_said_closed_and_the_next_open_day_offered(self, demo, said):
        await DateException.objects.acreate(business=demo, date=date(2026, 11, 26), closed=True)
        call = await Conversation.start(demo)
        answer = await call.say(said)
        assert answer.startswith("I'm sorry, we're closed"), call
        assert "anything free" not in answer and "I can do Friday at" in answer, call

    async def test_yes_to_another_day_asks_which_day(self, demo):
        await DateException.objects.acreate(business=demo, date=date(2026, 11, 26), closed=True)
        call = await Conversation.start(demo)
        answer = await call.say("I'd like a colour on Thursday morning")
        answers = [answer] + [await call.say("yes") for _ in range(4)]
        assert all("What time tomorrow" not in a for a in answers[1:]), call
        assert max(answers.count(a) for a in answers) <= 2, call
        assert await mine(demo) == set(), call


# -- "An hour earlier" when that is taken: earlier times, never later ones or the same -----


class TestShiftTaken:
    async def test_an_hour_earlier_taken_offers_only_earlier_times(self, demo):
        for hour, minute in ((13, 30), (14, 15), (15, 0)):
            await booked(demo, "Manicure", 2026, 11, 26, hour, minute)
        call = await Conversation.start(demo)
        await call.say("manicure tomorrow at 4")
        await call.say("Ivy Chen")
        answer = await call.say("yes")
        assert answer.endswith("at 4 PM. Shall I book it?"), call
        answer = await call.say("an hour earlier")
        assert "3 PM is already booked" in answer, call
        offered = answer.split("I can do", 1)[1]
        assert "4 PM" not in offered and "4:15" not in offered, call
        assert await mine(demo) == set(), call

    async def test_an_hour_later_past_closing_never_offers_the_booking_itself(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 15, phone=CALLER, name="Maria Lopez")
        call = await Conversation.start(demo)
        answer = await call.say("can you make my haircut an hour later")
        assert answer.endswith("I can do Saturday at 3:15 PM or 3:30 PM. Which would you like?"), (
            call
        )
        answer = await call.say("the 3:30 one")
        assert answer.endswith("moves to Saturday, November 28th at 3:30 PM. Shall I move it?"), (
            call
        )
        await call.say("yes")
        assert await mine(demo) == {("Haircut", local(demo, 2026, 11, 28, 15, 30))}, call


# -- "Tuesday the 8th", then "make that Wednesday": which Wednesday, never tomorrow unasked --


class TestChangeOfWeekday:
    @pytest.mark.parametrize(
        ("line", "said"),
        [
            ("actually make that Wednesday, sorry", "the 9th"),
            ("actually make that Wednesday, sorry", "the first one"),
            ("oh no wait, Wednesday at 2", "the 9th"),
        ],
    )
    async def test_a_weekday_far_from_now_is_asked_which(self, demo, line, said):
        call = await Conversation.start(demo)
        await call.say("manicure Tuesday the 8th at 1")
        answer = await call.say(line)
        assert answer.endswith("Wednesday the 9th, or Wednesday the 2nd?"), call
        await call.say(said)
        await call.say("Ivy Chen")
        answer = await call.say("yes")
        assert "Wednesday, December 9th" in answer, call
        await call.say("yes")
        assert {start.date() for _, start in await mine(demo)} == {date(2026, 12, 9)}, call

    async def test_a_weekday_this_week_is_not_asked_about(self, demo):
        call = await Conversation.start(demo)
        await call.say("manicure Friday at 1")
        answer = await call.say("actually make that Saturday")
        assert answer.startswith("Saturday then."), call


# -- Names with false starts ----------------------------------------------------------------


class TestFalseStartNames:
    @pytest.mark.parametrize("said", ["it's uh, Mike, Mike Ross", "the name's Ross. Mike Ross"])
    async def test_the_name_said_again_in_full_is_booked(self, demo, said):
        call = await Conversation.start(demo)
        await call.say("beard trim on Thursday the 10th at 3:45")
        answer = await call.say(said)
        assert answer.startswith("Thanks, Mike Ross."), call
        answer = await call.say("yes")
        assert answer.startswith("A beard trim for Mike Ross on Thursday, December 10th"), call


# -- "Any time Thursday", "whatever works": free times are offered, not asked for -----------


class TestAnyTime:
    @pytest.mark.parametrize(
        "lines",
        [
            ["any time friday for a beard trim"],
            ["beard trim on friday", "whatever works"],
            ["beard trim on friday", "you pick"],
        ],
    )
    async def test_times_that_day_are_offered(self, demo, lines):
        call = await Conversation.start(demo)
        for line in lines:
            answer = await call.say(line)
        assert answer.startswith("I can do Friday at "), call
        first = answer.removeprefix("I can do Friday at ").split(",")[0].split(" or ")[0]
        await call.say("the first one")
        await call.say("Ivy Chen")
        answer = await call.say("yes")
        assert f"on Friday, November 27th at {first}. Shall I book it?" in answer, call

    async def test_you_pick_with_no_day_offers_the_first_free_times(self, demo):
        call = await Conversation.start(demo)
        await call.say("I need a beard trim")
        answer = await call.say("you pick")
        assert answer.startswith("I can do "), call
