"""Whole conversations about how callers say days, times and answers (Demo Salon).

Now is Wednesday 2026-11-25 10:00 in New York. The salon is open Mon-Fri 9-18 and Sat 10-16,
closed Sunday, and needs an hour's notice. The caller calls from +1 555 555 0123 unless a test
says otherwise. Grouped by what the caller does: dates, times relative to what was offered,
windows and edges, speech-to-text forms, self-corrections, casual yes and no.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bookings.models import Booking
from calls.tests.conversation import Conversation, demo_business, local

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
async def demo():
    return await demo_business()


async def bookings_of(business):
    return [b async for b in Booking.objects.filter(business=business).select_related("service")]


async def booked_start(business):
    (booking,) = await bookings_of(business)
    return booking.start


async def finish(call, name="Dana"):
    """Name, the caller-ID number, and yes to the read-back; returns the read-back."""
    answer = call.transcript[-1][1]
    if "your name" in answer:
        answer = await call.say(name)
    if "number you're calling from" in answer:
        answer = await call.say("yes")
    assert "Shall I book it?" in answer, call
    assert "all set" in await call.say("yes"), call
    return answer


# --- dates: relative, vague, and the Nth weekday of a month ----------------------------------


async def test_second_friday_in_january_with_a_time_is_that_day_and_time(demo):
    call = await Conversation.start(demo)
    await call.say("Hi, could I get a haircut the second Friday in January at 2?")
    read_back = await finish(call)
    assert "Friday, January 8th at 2 PM" in read_back
    assert await booked_start(demo) == local(demo, 2027, 1, 8, 14)


async def test_end_of_this_month_gets_offers_inside_it(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Yeah I need a manicure, um, end of this month sometime")
    assert "I can do today at 11:15 AM, tomorrow at 9 AM or Friday at 9 AM" in answer
    await call.say("friday please")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 11, 27, 9)


async def test_late_next_month_afternoons_offers_late_december_afternoons(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Can I get a colour late next month? Afternoons are better for me.")
    assert "Monday, December 21st at noon" in answer
    assert "December 22nd at noon" in answer and "December 23rd at noon" in answer
    await call.say("the last one")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 12, 23, 12)


async def test_in_two_weeks_asks_the_time_on_that_day(demo):
    call = await Conversation.start(demo)
    answer = await call.say("I'd like a haircut in two weeks")
    assert answer == "What time on Wednesday, December 9th would suit you?"
    await call.say("eleven thirty")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 12, 9, 11, 30)


async def test_this_coming_tuesday(demo):
    call = await Conversation.start(demo)
    await call.say("beard trim this coming Tuesday at 10 please")
    read_back = await finish(call)
    assert "Tuesday, December 1st at 10 AM" in read_back


async def test_after_4_any_weekday_offers_weekdays_after_4(demo):
    call = await Conversation.start(demo)
    answer = await call.say("I work days, so a haircut after 4, any weekday")
    assert "today at 4 PM, tomorrow at 4 PM or Friday at 4 PM" in answer
    await call.say("tomorrow's good")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 11, 26, 16)


async def test_a_morning_next_week(demo):
    call = await Conversation.start(demo)
    answer = await call.say("could I get a manicure, a morning next week?")
    assert "Monday at 9 AM, Tuesday at 9 AM or Wednesday, December 2nd at 9 AM" in answer
    await call.say("Tuesday")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 12, 1, 9)


@pytest.mark.parametrize(
    "asked",
    [
        "I need a haircut now",
        "haircut, as soon as you can",
        "what's the earliest you've got for a haircut?",
    ],
)
async def test_soonest_offers_the_first_free_times(demo, asked):
    call = await Conversation.start(demo)
    answer = await call.say(asked)
    assert "I can do today at 11:15 AM, 11:45 AM or 12:15 PM" in answer
    await call.say("the first one")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 11, 25, 11, 15)


async def test_next_thursday_is_said_with_its_date(demo):
    call = await Conversation.start(demo)
    answer = await call.say("haircut next Thursday please")
    assert answer == "What time on Thursday, November 26th would suit you?"
    answer = await call.say("no, the week after. I mean December 3rd")
    assert "December 3rd" in answer
    await call.say("at 2")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 12, 3, 14)


async def test_next_friday_offers_are_said_with_the_date(demo):
    call = await Conversation.start(demo)
    answer = await call.say("a haircut next Friday morning")
    assert "Friday, November 27th at 9 AM" in answer


async def test_a_day_it_cannot_work_out_is_asked_about_not_guessed(demo):
    call = await Conversation.start(demo)
    answer = await call.say("I'd like a haircut the Friday before Christmas")
    assert "not sure which day you mean" in answer
    await call.say("December 18th at 3")
    read_back = await finish(call)
    assert "Friday, December 18th at 3 PM" in read_back


# --- times relative to what was offered or read back ---------------------------------------


async def read_back_tomorrow_at_3(demo):
    call = await Conversation.start(demo)
    await call.say("this is Ann, haircut tomorrow at 3")
    answer = await call.say("yes")
    assert answer.endswith("on Thursday, November 26th at 3 PM. Shall I book it?")
    return call


async def test_half_an_hour_later_than_the_read_back(demo):
    call = await read_back_tomorrow_at_3(demo)
    answer = await call.say("Oh, actually, could we make it half an hour later?")
    assert answer.endswith("Thursday, November 26th at 3:30 PM. Shall I book it?")
    await call.say("yep")
    assert await booked_start(demo) == local(demo, 2026, 11, 26, 15, 30)


async def test_an_hour_earlier(demo):
    call = await read_back_tomorrow_at_3(demo)
    answer = await call.say("hmm, an hour earlier would be better")
    assert answer.endswith("Thursday, November 26th at 2 PM. Shall I book it?")
    await call.say("yes")
    assert await booked_start(demo) == local(demo, 2026, 11, 26, 14)


async def test_a_bit_earlier_offers_the_nearest_earlier_times(demo):
    call = await read_back_tomorrow_at_3(demo)
    answer = await call.say("ooh, a bit earlier?")
    assert "tomorrow at 1:45 PM, 2:15 PM or 2:45 PM" in answer
    await call.say("2:45")
    await call.say("yes")
    assert await booked_start(demo) == local(demo, 2026, 11, 26, 14, 45)


async def test_the_one_after_that_when_the_offer_is_taken(demo):
    other = await Conversation.start(demo, caller="+15555550111")
    await other.say("haircut tomorrow at 3:30, I'm Lou")
    await other.say("yes")
    await other.say("yes")
    call = await read_back_tomorrow_at_3(demo)
    answer = await call.say("can I get the one after that?")
    assert "tomorrow at 4 PM" in answer  # 3:30 is Lou's
    await call.say("the first one")
    await call.say("yes")
    starts = sorted(b.start for b in await bookings_of(demo))
    assert starts == [local(demo, 2026, 11, 26, 15, 30), local(demo, 2026, 11, 26, 16)]


async def test_later_than_nothing_is_asked_again(demo):
    call = await Conversation.start(demo)
    await call.say("a haircut please")
    answer = await call.say("a bit later")
    assert "didn't quite get that" in answer and "What day" in answer


async def test_push_a_booking_back_an_hour(demo):
    booker = await Conversation.start(demo)
    await booker.say("this is Maria, haircut tomorrow at 3")
    await booker.say("yes")
    await booker.say("yes")
    call = await Conversation.start(demo)
    await call.say("I need to reschedule my booking")
    answer = await call.say("an hour later please")
    assert "on Thursday, November 26th at 3 PM moves to Thursday, November 26th at 4 PM" in answer
    await call.say("yes")
    confirmed = [b.start for b in await bookings_of(demo) if b.status == "confirmed"]
    assert confirmed == [local(demo, 2026, 11, 26, 16)]


# --- answers to offered times ---------------------------------------------------------------


async def offered_tomorrow_afternoon(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Hi, I'm Ann, I'd like a manicure tomorrow afternoon")
    assert answer == "I can do tomorrow at noon, 12:30 PM or 1 PM. Which would you like?"
    return call


@pytest.mark.parametrize(
    ("said", "start"),
    [
        ("the 12:30 one", (2026, 11, 26, 12, 30)),
        ("um, that 12 30 one please", (2026, 11, 26, 12, 30)),
        ("the noon one's good", (2026, 11, 26, 12)),
    ],
)
async def test_the_12_30_one_is_that_offer(demo, said, start):
    call = await offered_tomorrow_afternoon(demo)
    await call.say(said)
    await finish(call)
    assert await booked_start(demo) == local(demo, *start)


async def test_the_tuesday_one_is_the_tuesday_offer_not_1_pm(demo):
    call = await Conversation.start(demo)
    answer = await call.say("can I get a haircut sometime next week, mornings? It's Bo")
    assert answer.startswith("I can do Monday at 9 AM, Tuesday at 9 AM or Wednesday")
    await call.say("the Tuesday one")
    read_back = await finish(call)
    assert "Tuesday, December 1st at 9 AM" in read_back


async def test_yeah_thats_fine_to_three_times_asks_which(demo):
    call = await offered_tomorrow_afternoon(demo)
    answer = await call.say("yeah that's fine")
    assert answer == "Which one: tomorrow at noon, 12:30 PM or 1 PM?"
    await call.say("the later one")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 11, 26, 13)


async def test_none_of_those_work_asks_for_another_day_then_offers_it(demo):
    call = await offered_tomorrow_afternoon(demo)
    answer = await call.say("hmm, none of those work for me")
    assert answer == "No problem. What other day or time would suit you?"
    answer = await call.say("Friday maybe?")
    assert "I can do Friday at noon, 12:30 PM or 1 PM" in answer
    await call.say("the first one")
    await finish(call)
    assert await booked_start(demo) == local(demo, 2026, 11, 27, 12)


async def test_neither_after_a_taken_time_then_another_day(demo):
    taken = await Conversation.start(demo, caller="+15555550111")
    await taken.say("haircut Friday at 11, I'm Lou")
    await taken.say("yes")
    await taken.say("yes")
    call = await Conversation.start(demo)
    answer = await call.say("a haircut on Friday at 11 please, it's Ann")
    assert "Friday at 11 AM is already booked" in answer
    answer = await call.say("neither, sorry")
    assert answer == "No problem. What other day or time would suit you?"
    answer = await call.say("Monday at 11 then")
    assert "Shall I text" in answer and "already booked" not in answer
    await call.say("yes")
    assert "Monday, November 30th at 11 AM" in call.transcript[-1][1]


# --- windows, offsets and edges ------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "offered"),
    [
        ("haircut tomorrow 2-3pm", "tomorrow at 2 PM or 2:30 PM"),
        ("a haircut from 1 to 3 tomorrow", "tomorrow at 1 PM, 1:30 PM or 2 PM"),
        ("haircut Friday, between 4 and 6", "Friday at 4 PM, 4:30 PM or 5 PM"),
        ("haircut tomorrow by noon", "tomorrow at 9 AM, 9:30 AM or 10 AM"),
        ("haircut tomorrow, any time after 5", "tomorrow at 5 PM or 5:30 PM"),
    ],
)
async def test_a_window_gets_offers_inside_it_not_its_end(demo, asked, offered):
    call = await Conversation.start(demo)
    answer = await call.say(asked)
    assert f"I can do {offered}. Which would you like?" == answer


@pytest.mark.parametrize(
    ("said", "start"),
    [
        ("haircut tomorrow at 10 minutes past 4", (2026, 11, 26, 16, 10)),
        ("haircut tomorrow at 25 to 3", (2026, 11, 26, 14, 35)),
        ("haircut two Tuesdays from now at 11", (2026, 12, 8, 11)),
        ("can I come in for a haircut in an hour and a half", (2026, 11, 25, 11, 30)),
    ],
)
async def test_offsets_and_quarter_hours(demo, said, start):
    call = await Conversation.start(demo)
    await call.say(said)
    await finish(call)
    assert await booked_start(demo) == local(demo, *start)


async def test_in_45_minutes_is_too_soon_and_says_so(demo):
    call = await Conversation.start(demo)
    answer = await call.say("can you fit a haircut in, in 45 minutes?")
    assert "we need at least 1 hour notice" in answer
    assert "today at 11:15 AM" in answer


@pytest.mark.parametrize("hour", ["midnight", "4 am"])
async def test_closed_hours_are_said_to_be_closed(demo, hour):
    call = await Conversation.start(demo)
    answer = await call.say(f"haircut tomorrow at {hour}")
    assert "that's outside our hours. Tomorrow we're open 9 AM to 6 PM" in answer
    assert await bookings_of(demo) == []


@pytest.mark.parametrize("said", ["a haircut this evening at 12", "haircut at 12 tonight please"])
async def test_12_in_the_evening_is_midnight_and_closed_never_noon(demo, said):
    call = await Conversation.start(demo)
    answer = await call.say(said)
    assert "that's outside our hours" in answer
    assert "noon" not in answer and "12 PM" not in answer
    assert "I can do Thursday, November 26th at 9 AM" in answer
    assert await bookings_of(demo) == []


# --- speech-to-text forms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        ("haircut tomorrow at 10 30", "10:30 AM"),
        ("haircut tomorrow 2 15 pm", "2:15 PM"),
        ("haircut tomorrow 9 45 in the morning", "9:45 AM"),
        ("uh, a haircut, um, tomorrow at, uh, quarter past four", "4:15 PM"),
        ("a haircut tomorrow at three forty five", "3:45 PM"),
    ],
)
async def test_speech_to_text_times(demo, said, heard):
    call = await Conversation.start(demo)
    await call.say(said)
    read_back = await finish(call)
    assert f"Thursday, November 26th at {heard}" in read_back


async def test_spaced_digits_after_the_phone_question_are_the_time(demo):
    call = await Conversation.start(demo, caller="")
    await call.say("haircut tomorrow at 3, I'm Bo")
    answer = await call.say("9 45 in the morning actually")
    assert "9:45" not in answer or "What's the best number" in answer
    answer = await call.say("555 555 0142")
    assert answer == (
        "A haircut for Bo on Thursday, November 26th at 9:45 AM, and I'll text the "
        "confirmation to 5 5 5, 5 5 5, 0 1 4 2. Shall I book it?"
    )


# --- self-corrections ------------------------------------------------------------------------


async def test_three_no_wait_four(demo):
    call = await Conversation.start(demo)
    await call.say("a haircut tomorrow")
    await call.say("three, no wait, four")
    read_back = await finish(call)
    assert "at 4 PM" in read_back


async def test_corrected_day_and_time_in_one_breath(demo):
    call = await Conversation.start(demo)
    await call.say("beard trim Monday, no, Tuesday, at ten, sorry, ten thirty")
    read_back = await finish(call)
    assert "Tuesday, December 1st at 10:30 AM" in read_back


async def test_corrected_phone_number_last_digits_win(demo):
    call = await Conversation.start(demo, caller="")
    await call.say("manicure Friday at 2, I'm Ana")
    answer = await call.say("Text 646 555 0188, no sorry, 0189")
    assert answer == (
        "A manicure for Ana on Friday, November 27th at 2 PM, and I'll text the "
        "confirmation to 6 4 6, 5 5 5, 0 1 8 9. Shall I book it?"
    )
    await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.customer_phone == "+16465550189"


async def test_corrected_phone_number_group(demo):
    call = await Conversation.start(demo, caller="")
    await call.say("manicure Friday at 2, I'm Ana")
    await call.say("it's 617 555 0142, sorry, 0143")
    await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.customer_phone == "+16175550143"


async def test_time_correction_next_to_a_phone_number_stays_a_time(demo):
    call = await Conversation.start(demo, caller="")
    await call.say("manicure Friday at 2, I'm Ana")
    answer = await call.say("my number is 617 555 0142, oh and at 10 30, sorry, 10 45")
    assert answer == (
        "10:45 AM then. A manicure for Ana on Friday, November 27th at 10:45 AM, and I'll text the "
        "confirmation to 6 1 7, 5 5 5, 0 1 4 2. Shall I book it?"
    )
    await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.customer_phone == "+16175550142"
    assert booking.start == local(demo, 2026, 11, 27, 10, 45)


# --- a number said in pieces -----------------------------------------------------------------


async def test_a_number_in_two_pieces_is_kept_asked_on_and_read_back(demo):
    call = await Conversation.start(demo)
    await call.say("haircut Friday at 11, I'm Dana")
    assert "What number" in await call.say("no, not this one")
    answer = await call.say("212 555")
    assert answer == "2 1 2, 5 5 5, and then?"
    answer = await call.say("0 1 9 9")
    assert answer == (
        "A haircut for Dana on Friday, November 27th at 11 AM, and I'll text the "
        "confirmation to 2 1 2, 5 5 5, 0 1 9 9. Shall I book it?"
    )
    assert await bookings_of(demo) == []
    await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.customer_phone == "+12125550199"


async def test_its_646_555_trailing_off_then_the_rest(demo):
    call = await Conversation.start(demo, caller="")
    await call.say("manicure Friday at 2, I'm Ana")
    assert await call.say("it's 646 555...") == "6 4 6, 5 5 5, and then?"
    answer = await call.say("uh, hang on")
    assert answer == "Take your time. I have 6 4 6, 5 5 5 so far."
    answer = await call.say("0189")
    assert answer.endswith("I'll text the confirmation to 6 4 6, 5 5 5, 0 1 8 9. Shall I book it?")
    await call.say("yep")
    (booking,) = await bookings_of(demo)
    assert booking.customer_phone == "+16465550189"


async def test_no_its_and_the_first_part_at_the_number_question(demo):
    call = await Conversation.start(demo)
    await call.say("beard trim tomorrow at 10, it's Sam")
    assert await call.say("no, it's 646 555") == "6 4 6, 5 5 5, and then?"
    answer = await call.say("zero one eight eight")
    assert "to 6 4 6, 5 5 5, 0 1 8 8. Shall I book it?" in answer


async def test_too_many_digits_in_pieces_asks_for_the_whole_number_again(demo):
    call = await Conversation.start(demo, caller="")
    await call.say("haircut Friday at 11, I'm Dana")
    assert await call.say("212 555 019") == "2 1 2, 5 5 5, 0 1 9, and then?"
    answer = await call.say("9 9 9 9")
    assert answer == "Sorry, I didn't get the whole number. Could you say it again from the start?"
    answer = await call.say("212 555 0199")
    assert "to 2 1 2, 5 5 5, 0 1 9 9. Shall I book it?" in answer


# --- casual yes and no -----------------------------------------------------------------------


@pytest.mark.parametrize("yes", ["mm-hmm", "yep", "sure thing", "go for it", "that works"])
async def test_casual_yes_to_the_phone_question_and_the_read_back(demo, yes):
    call = await Conversation.start(demo)
    await call.say("haircut Friday at 2, I'm Bo")
    answer = await call.say(yes)
    assert answer.endswith("Shall I book it?")
    assert "all set" in await call.say(yes)
    assert await booked_start(demo) == local(demo, 2026, 11, 27, 14)


@pytest.mark.parametrize("no", ["nope", "nah", "not really", "yeah, no"])
async def test_casual_no_books_nothing(demo, no):
    call = await Conversation.start(demo)
    await call.say("haircut Friday at 2, I'm Bo")
    await call.say("yes")
    answer = await call.say(no)
    assert "What would you like to change" in answer
    assert await bookings_of(demo) == []
    assert not call.ended


async def test_casual_no_to_the_phone_question_asks_for_a_number(demo):
    call = await Conversation.start(demo)
    await call.say("haircut Friday at 2, I'm Bo")
    assert "What number" in await call.say("nah")


# --- names: a casual answer is not a name; a name may close the request ----------------------


@pytest.mark.parametrize("backchannel", ["mm-hmm", "yeah", "uh-huh", "yep, sure"])
async def test_a_casual_answer_to_the_name_question_is_not_the_name(demo, backchannel):
    call = await Conversation.start(demo)
    assert "your name" in await call.say("can I get a haircut tomorrow at 3")
    answer = await call.say(backchannel)
    assert answer == "Sorry, what name shall I put the booking under?"
    answer = await call.say("oh, it's Maria")
    assert answer.startswith("Thanks, Maria.")
    read_back = await finish(call)
    assert read_back.startswith("A haircut for Maria on Thursday, November 26th at 3 PM")
    (booking,) = await bookings_of(demo)
    assert booking.customer_name == "Maria"


async def test_name_at_the_end_of_the_request(demo):
    call = await Conversation.start(demo)
    answer = await call.say("manicure Thursday at 2, Maria")
    assert answer.startswith("Thanks, Maria. Shall I text the confirmation")
    read_back = await finish(call)
    assert read_back.startswith("A manicure for Maria on Thursday, November 26th at 2 PM")


async def test_full_name_at_the_end_with_a_thank_you(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Hi, a beard trim on Friday at 11 please, Sam Ortiz, thanks.")
    assert answer.startswith("Thanks, Sam Ortiz.")
    await finish(call)
    (booking,) = await bookings_of(demo)
    assert booking.customer_name == "Sam Ortiz"


async def test_a_word_after_a_comma_is_not_taken_for_a_name(demo):
    call = await Conversation.start(demo)
    answer = await call.say("haircut on Friday at 2, perfect")
    assert answer == "Great. Can I take your name, please?"


# --- British times: "half two" is half past two --------------------------------------------


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        ("could I book a haircut Friday at half two", "Friday, November 27th at 2:30 PM"),
        ("haircut, half past two on Friday", "Friday, November 27th at 2:30 PM"),
        ("a beard trim tomorrow, say half ten?", "Thursday, November 26th at 10:30 AM"),
        ("colouring Saturday about half eleven", "Saturday, November 28th at 11:30 AM"),
    ],
)
async def test_half_two_is_half_past_two(demo, said, heard):
    call = await Conversation.start(demo)
    await call.say(said)
    read_back = await finish(call)
    assert heard in read_back


async def test_half_an_hour_later_is_still_a_shift_not_half_past(demo):
    call = await Conversation.start(demo)
    await call.say("haircut tomorrow at 3, I'm Bo")
    await call.say("yes")
    answer = await call.say("actually half an hour later")
    assert "Thursday, November 26th at 3:30 PM" in answer
