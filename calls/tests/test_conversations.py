"""Whole conversations with the embedded receptionist (Demo Salon, a frozen Wednesday).

Now is Wednesday 2026-11-25 10:00 in New York: Thursday the 26th is 'tomorrow', the salon
is open Mon-Fri 9-18 and Sat 10-16, closed Sunday.
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


async def test_everything_in_one_breath_then_yes(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Hi, this is Maria, can I get a haircut tomorrow at 3?")
    assert "number you're calling from" in answer
    answer = await call.say("yes")
    assert answer == "A haircut for Maria on Thursday, November 26th at 3 PM. Shall I book it?"
    answer = await call.say("yes please")
    assert "You're all set, Maria" in answer and call.ended
    (booking,) = await bookings_of(demo)
    assert booking.start == local(demo, 2026, 11, 26, 15)
    assert (booking.customer_name, booking.customer_phone, booking.service.name) == (
        "Maria",
        "+15555550123",
        "Haircut",
    )
    assert call.engine.state.outcome == "booked"
    assert call.engine.state.booking_id == booking.pk


async def test_asks_only_for_what_is_missing_in_order(demo):
    call = await Conversation.start(demo, caller="")
    assert "What would you like to book?" in await call.say(
        "Hello, I'd like to make an appointment"
    )
    assert "What day and time" in await call.say("a beard trim please")
    assert "What time on Friday" in await call.say("Friday")
    assert "your name" in await call.say("three thirty")
    assert "best number" in await call.say("Sam Lee")
    answer = await call.say("it's 555 555 0199")
    assert answer == (
        "A beard trim for Sam Lee on Friday, November 27th at 3:30 PM, and I'll text the "
        "confirmation to 5 5 5, 5 5 5, 0 1 9 9. Shall I book it?"
    )
    assert "You're all set" in await call.say("yep")
    (booking,) = await bookings_of(demo)
    assert booking.customer_phone == "+15555550199"
    assert booking.end - booking.start == (
        local(demo, 2026, 1, 1, 0, 15) - local(demo, 2026, 1, 1, 0)
    )


async def test_busy_slot_offers_alternatives_and_the_first_one_is_taken(demo):
    first = await Conversation.start(demo, caller="+15555550111")
    await first.say("Haircut tomorrow at 3, I'm Ann")
    await first.say("yes")
    await first.say("yes")
    call = await Conversation.start(demo)
    answer = await call.say("Can I get a haircut tomorrow at 3? My name is Maria")
    assert "tomorrow at 3 PM is already booked" in answer
    assert "2:30 PM" in answer and "3:30 PM" in answer
    assert "number you're calling from" in await call.say("the later one")
    answer = await call.say("yes")
    assert "at 3:30 PM" in answer
    await call.say("yes")
    starts = sorted(b.start for b in await bookings_of(demo))
    assert starts == [local(demo, 2026, 11, 26, 15), local(demo, 2026, 11, 26, 15, 30)]


async def test_closed_sunday_is_explained_with_monday_offered(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Could I book a manicure on Sunday at 3?")
    assert "we're closed on Sundays" in answer
    assert "Monday at 2:45 PM, 3 PM or 3:15 PM" in answer


async def test_corrections_of_time_day_and_service(demo):
    call = await Conversation.start(demo)
    await call.say("this is Maria, haircut tomorrow at 3")
    await call.say("yes")  # the caller-ID number
    assert "3 PM" in call.transcript[-1][1]
    answer = await call.say("no, make it 4")
    assert answer.endswith("on Thursday, November 26th at 4 PM. Shall I book it?")
    answer = await call.say("actually Friday")
    assert "Friday, November 27th at 4 PM" in answer
    answer = await call.say("not a haircut, a beard trim")
    assert answer.startswith("Beard trim then. A beard trim for Maria on Friday, November 27th")
    await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.service.name == "Beard trim"
    assert booking.start == local(demo, 2026, 11, 27, 16)


async def test_nothing_is_booked_without_a_yes(demo):
    call = await Conversation.start(demo)
    await call.say("this is Maria, haircut tomorrow at 3")
    await call.say("yes")
    assert "I need a yes or a no" in await call.say("hmm")
    answer = await call.say("no")
    assert "What would you like to change" in answer
    assert await bookings_of(demo) == []
    assert not call.ended


async def test_vague_morning_gets_concrete_offers(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Do you have anything for a haircut this Friday morning?")
    assert "Friday at 9 AM, 9:30 AM or 10 AM" in answer
    answer = await call.say("the second one")
    assert "name" in answer
    await call.say("Jo")
    answer = await call.say("yes")
    assert "Friday, November 27th at 9:30 AM" in answer


async def test_sometime_next_week_offers_one_time_per_day(demo):
    call = await Conversation.start(demo)
    answer = await call.say("a manicure sometime next week")
    assert "Monday, November 30th at 9 AM" in answer or "Monday" in answer
    assert answer.count(" at ") >= 2


async def test_after_4_offers_late_slots(demo):
    call = await Conversation.start(demo)
    answer = await call.say("haircut tomorrow after 4")
    assert "4 PM, 4:30 PM or 5 PM" in answer


async def test_past_date_is_explained(demo):
    call = await Conversation.start(demo)
    answer = await call.say("haircut yesterday at 3")
    assert "already passed" in answer


async def test_unknown_service_lists_what_the_business_offers(demo):
    call = await Conversation.start(demo)
    answer = await call.say("I need an oil change")
    assert "beard trim, hair colouring, haircut or manicure" in answer


async def test_cancel_own_booking_after_read_back(demo):
    booker = await Conversation.start(demo)
    await booker.say("this is Maria, haircut tomorrow at 3")
    await booker.say("yes")
    await booker.say("yes")
    call = await Conversation.start(demo)
    answer = await call.say("Hi, I need to cancel my appointment")
    assert "haircut for Maria on Thursday, November 26th at 3 PM. Shall I cancel it?" in answer
    assert "cancelled" in await call.say("yes please")
    (booking,) = await bookings_of(demo)
    assert booking.status == Booking.Status.CANCELLED
    assert call.engine.state.outcome == "cancelled"


async def test_move_own_booking(demo):
    booker = await Conversation.start(demo)
    await booker.say("this is Maria, haircut tomorrow at 3")
    await booker.say("yes")
    await booker.say("yes")
    call = await Conversation.start(demo)
    answer = await call.say("Can I reschedule my booking?")
    assert "What day and time would you like instead?" in answer
    answer = await call.say("Friday at 11")
    assert (
        "Your haircut on Thursday, November 26th at 3 PM moves to Friday, November 27th at 11 AM"
        in answer
    )
    assert "now on Friday" in await call.say("yes")
    rows = await bookings_of(demo)
    assert {(b.status, b.start) for b in rows} == {
        ("cancelled", local(demo, 2026, 11, 26, 15)),
        ("confirmed", local(demo, 2026, 11, 27, 11)),
    }
    assert call.engine.state.outcome == "moved"


async def test_move_own_booking_by_a_quarter_of_an_hour(demo):
    booker = await Conversation.start(demo)
    await booker.say("this is Maria, haircut tomorrow at 3")
    await booker.say("yes")
    await booker.say("yes")
    call = await Conversation.start(demo)
    await call.say("Can I reschedule my booking?")
    answer = await call.say("tomorrow at 3:15")
    assert (
        "Your haircut on Thursday, November 26th at 3 PM moves to Thursday, November 26th at "
        "3:15 PM" in answer
    )
    assert "now on Thursday, November 26th at 3:15 PM" in await call.say("yes")
    rows = await bookings_of(demo)
    assert {(b.status, b.start) for b in rows} == {
        ("cancelled", local(demo, 2026, 11, 26, 15)),
        ("confirmed", local(demo, 2026, 11, 26, 15, 15)),
    }
    assert call.engine.state.outcome == "moved"


async def test_cancel_with_no_booking_says_so(demo):
    call = await Conversation.start(demo, caller="+15555550999")
    assert "don't see an upcoming booking" in await call.say("cancel my booking")


async def test_transfer_to_a_person(demo):
    demo.transfer_number = "+15555550155"
    await demo.asave(update_fields=["transfer_number"])
    call = await Conversation.start(demo)
    answer = await call.say("Can I speak to a real person?")
    assert "put you through" in answer
    assert call.engine.ending.handoff_data() == {"reason": "transfer", "transferTo": "+15555550155"}
    assert call.engine.state.outcome == "transferred"


async def test_message_taken_when_no_transfer_number(demo):
    call = await Conversation.start(demo)
    assert "take a message" in await call.say("operator")
    answer = await call.say("This is Bob, please call me back about my colour")
    assert "message" in answer and call.ended
    assert "please call me back about my colour" in call.engine.state.message
    assert call.engine.state.outcome == "message_taken"


async def test_sorry_repeats_and_noise_gets_a_clearer_question(demo):
    call = await Conversation.start(demo)
    first = await call.say("a haircut please")
    assert await call.say("sorry?") == first
    answer = await call.say("zzzz grmbl")
    assert "didn't quite get that" in answer and "What day" in answer


async def test_repeated_failures_offer_a_message(demo):
    call = await Conversation.start(demo)
    await call.say("blah")
    await call.say("???")
    answer = await call.say("flibber")
    assert "leave a message" in answer
    assert "What would you like me to pass on" in await call.say("yes")


async def test_spelled_name_and_spoken_number(demo):
    call = await Conversation.start(demo, caller="")
    await call.say("manicure on Friday at 2")
    await call.say("my name is Ann, that's A N N")
    answer = await call.say("five five five, five five five, oh one two three")
    assert answer == (
        "A manicure for Ann on Friday, November 27th at 2 PM, and I'll text the confirmation "
        "to 5 5 5, 5 5 5, 0 1 2 3. Shall I book it?"
    )


async def test_caller_id_declined_then_new_number(demo):
    call = await Conversation.start(demo)
    await call.say("haircut Friday at noon, this is Dee")
    assert "What number" in await call.say("no")
    answer = await call.say("555 555 0142")
    assert "Shall I book it?" in answer
    await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.customer_phone == "+15555550142"
    assert booking.start == local(demo, 2026, 11, 27, 12)


async def test_hours_question(demo):
    call = await Conversation.start(demo)
    answer = await call.say("what are your opening hours?")
    assert "Monday to Friday 9 AM to 6 PM, Saturday 10 AM to 4 PM and closed Sundays" in answer


async def test_lost_race_at_booking_time_offers_alternatives(demo):
    call = await Conversation.start(demo)
    await call.say("this is Maria, haircut tomorrow at 3")
    await call.say("yes")
    other = await Conversation.start(demo, caller="+15555550111")
    await other.say("this is Ann, haircut tomorrow at 3")
    await other.say("yes")
    await other.say("yes")
    answer = await call.say("yes")
    assert "just taken" in answer and "3:30 PM" in answer
    assert not call.ended
