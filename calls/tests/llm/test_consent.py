"""The tool layer, not the prompt, decides: nothing is booked, moved or cancelled unless the
caller heard it read back and then said yes."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from bookings.tests.factories import BookingFactory, acreate
from calls.tests.conversation import CALLER, Conversation, local
from calls.tests.llm.fake_openai import Reply, tool, words

pytestmark = pytest.mark.django_db(transaction=True)

CHECK = tool("check_availability", service="Haircut", start="2026-11-26 15:00")
BOOK = tool("book", service="Haircut", start="2026-11-26 15:00", customer_name="Maria")
READ_BACK = "A haircut for Maria on Thursday, November 26th at 3 PM. Shall I book it?"


async def booked_count(business) -> int:
    return await sync_to_async(Booking.objects.filter(business=business).count)()


def error_seen(request) -> str:
    return request.tool_results()[-1].get("error", "")


async def test_booking_without_read_back_and_yes_is_refused_by_the_tools(demo, fake):
    fake.script(
        # Turn 1: the model books straight after checking, then reads back and books at once.
        Reply(CHECK),
        Reply(BOOK),
        Reply(words(READ_BACK), BOOK),
        Reply(words("Please say yes to confirm.")),
        # Turn 2: the caller asks something else; the model books anyway, then reads it back
        # again (the question withdrew the first read-back).
        Reply(BOOK),
        Reply(words(f"There's parking on the street. {READ_BACK}")),
        # Turn 3: a yes at last, right after a read-back.
        Reply(BOOK),
        Reply(words("You're all set. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")

    await call.say("A haircut tomorrow at 3, I'm Maria")
    assert "has not heard it read back" in error_seen(fake.requests[2])
    assert "Thursday, November 26th at 3 PM" in error_seen(fake.requests[2])
    assert "you read it back in this answer" in error_seen(fake.requests[3])
    await call.say("Is there parking nearby?")
    assert "are not a clear yes" in error_seen(fake.requests[5])
    assert await booked_count(demo) == 0
    assert call.engine.ending is None and call.engine.state.outcome == "in_progress"

    assert await call.say("yes") == "You're all set. Goodbye!"
    assert fake.requests[7].tool_results()[-1]["booked"] is True
    assert await booked_count(demo) == 1


async def test_only_the_slot_just_checked_can_be_booked(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words(READ_BACK)),
        Reply(tool("book", service="Haircut", start="2026-11-26 16:00", customer_name="Maria")),
        Reply(words("Sorry, let me check 4 PM first.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut tomorrow at 3, I'm Maria")
    await call.say("yes")
    assert "has not just been checked" in error_seen(fake.requests[3])
    assert await booked_count(demo) == 0


async def test_a_no_is_not_a_yes(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words(READ_BACK)),
        Reply(BOOK),
        Reply(words("Okay, what would you like to change?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut tomorrow at 3, I'm Maria")
    await call.say("no, actually")
    assert "are not a clear yes" in error_seen(fake.requests[3])
    assert await booked_count(demo) == 0


async def test_a_read_back_the_caller_talked_over_does_not_count(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words(READ_BACK)),
        Reply(BOOK),
        Reply(words("Sorry, shall I book a haircut tomorrow at 3 PM?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut tomorrow at 3, I'm Maria")
    call.engine.heard("A haircut for Maria on Thursday")  # cut before the time was said
    await call.say("yes")
    assert "has not heard it read back" in error_seen(fake.requests[3])
    assert await booked_count(demo) == 0


async def test_a_booking_is_cancelled_after_read_back_and_yes(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    booking = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 27, 11), customer_phone=CALLER
    )

    def read_back_the_booking(request) -> Reply:
        (found,) = request.tool_results()[-1]["bookings"]
        return Reply(words(f"I see a haircut on {found['say']}. Shall I cancel it?"))

    fake.script(
        Reply(tool("find_my_booking")),
        read_back_the_booking,
        Reply(tool("cancel_booking", booking_id=booking.pk)),
        Reply(words("That's cancelled. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("I need to cancel my appointment")
    assert answer == "I see a haircut on Friday, November 27th at 11 AM. Shall I cancel it?"
    assert await call.say("yes please") == "That's cancelled. Goodbye!"

    await sync_to_async(booking.refresh_from_db)()
    assert booking.status == Booking.Status.CANCELLED
    assert (call.engine.state.outcome, call.engine.state.booking_id) == ("cancelled", booking.pk)
    assert call.engine.ending.reason == "cancelled"


async def test_cancelling_without_a_yes_is_refused(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    booking = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 27, 11), customer_phone=CALLER
    )
    fake.script(
        Reply(tool("find_my_booking"), ttft=0),
        Reply(tool("cancel_booking", booking_id=booking.pk)),
        Reply(words("Shall I cancel your haircut on Friday, November 27th at 11 AM?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("cancel my appointment")
    assert "has not heard it read back" in error_seen(fake.requests[2])
    await sync_to_async(booking.refresh_from_db)()
    assert booking.status == Booking.Status.CONFIRMED


async def test_a_booking_is_moved_to_a_checked_time_after_read_back_and_yes(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    booking = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 27, 11), customer_phone=CALLER
    )
    fake.script(
        Reply(
            tool("find_my_booking"),
            tool("check_availability", service="Haircut", start="2026-11-30 10:00"),
        ),
        Reply(
            words(
                "I can move your haircut from Friday, November 27th at 11 AM to Monday, "
                "November 30th at 10 AM. Shall I?"
            )
        ),
        Reply(tool("move_booking", booking_id=booking.pk, new_start="2026-11-30 10:00")),
        Reply(words("Done. See you on Monday. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Can I move my haircut to Monday at 10?")
    assert await call.say("yes") == "Done. See you on Monday. Goodbye!"

    await sync_to_async(booking.refresh_from_db)()
    assert booking.status == Booking.Status.CANCELLED
    moved = await Booking.objects.filter(status=Booking.Status.CONFIRMED).aget()
    assert moved.start == local(demo, 2026, 11, 30, 10)
    assert (call.engine.state.outcome, call.engine.state.booking_id) == ("moved", moved.pk)
    assert call.engine.ending.reason == "moved"


async def test_a_yes_right_after_the_read_back_books(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words(READ_BACK)),
        # Saying the slot again while booking is fine: the caller's yes came before it.
        Reply(words("Great, booking Thursday, November 26th at 3 PM for you now."), BOOK),
        Reply(words("You're all set. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    assert await call.say("A haircut tomorrow at 3, I'm Maria") == READ_BACK
    await call.say("yes please")
    assert fake.requests[3].tool_results()[-1]["booked"] is True
    assert await booked_count(demo) == 1
    assert call.engine.ending.reason == "booked"


async def test_a_yes_after_a_no_and_another_question_does_not_book(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words(READ_BACK)),
        Reply(words("Okay. Is there anything else I can help you with?")),
        Reply(BOOK),  # the model takes the yes to its other question for a yes to the slot
        Reply(words("Sorry, shall I book it after all?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut tomorrow at 3, I'm Maria")
    await call.say("No, I don't want that.")
    await call.say("yes")

    refused = error_seen(fake.requests[4])
    assert "Read it back again" in refused
    assert "Thursday, November 26th at 3 PM" in refused
    assert await booked_count(demo) == 0
    # Nothing written: the call stands as the caller's no to the read-back.
    assert call.engine.ending is None and call.engine.state.outcome == "declined"


async def test_a_yes_to_a_question_asked_after_the_read_back_does_not_book(demo, fake):
    fake.script(
        Reply(CHECK),
        Reply(words(READ_BACK)),
        Reply(words("We close at 6 PM tomorrow. Anything else?")),
        Reply(BOOK),
        Reply(words("Sorry, shall I book it?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut tomorrow at 3, I'm Maria")
    await call.say("What time do you close?")
    await call.say("yes")

    assert "Read it back again" in error_seen(fake.requests[4])
    assert await booked_count(demo) == 0

    # Read back again, and a yes straight after it: booked.
    fake.script(Reply(words(READ_BACK)), Reply(BOOK), Reply(words("You're all set. Goodbye!")))
    await call.say("Sorry, what was the booking again?")
    await call.say("yes")
    assert await booked_count(demo) == 1


async def test_a_cancellation_needs_the_yes_right_after_its_read_back(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    booking = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 27, 11), customer_phone=CALLER
    )
    cancel = tool("cancel_booking", booking_id=booking.pk)
    fake.script(
        Reply(tool("find_my_booking")),
        Reply(words("I see a haircut on Friday, November 27th at 11 AM. Shall I cancel it?")),
        Reply(words("We close at 6 PM on Friday. Anything else?")),
        Reply(cancel),
        Reply(words("Sorry, shall I cancel it?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("I need to cancel my appointment")
    await call.say("What time do you close?")
    await call.say("yes")

    refused = error_seen(fake.requests[4])
    assert "Read it back again" in refused and "Friday, November 27th at 11 AM" in refused
    await sync_to_async(booking.refresh_from_db)()
    assert booking.status == Booking.Status.CONFIRMED
    assert call.engine.ending is None


async def test_a_list_of_bookings_is_not_a_read_back_of_each(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    friday, monday = [
        await acreate(BookingFactory, service=haircut, start=start, customer_phone=CALLER)
        for start in (local(demo, 2026, 11, 27, 11), local(demo, 2026, 11, 30, 14))
    ]
    fake.script(
        Reply(tool("find_my_booking")),
        Reply(
            words(
                "I see a haircut on Friday, November 27th at 11 AM and one on Monday, "
                "November 30th at 2 PM. Shall I cancel it?"
            )
        ),
        Reply(tool("cancel_booking", booking_id=friday.pk)),
        Reply(words("Shall I cancel your haircut on Friday, November 27th at 11 AM?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("I need to cancel my appointment")
    await call.say("yes")

    refused = error_seen(fake.requests[3])
    assert "has not heard it read back" in refused and "not in a list" in refused
    await sync_to_async(friday.refresh_from_db)()
    assert friday.status == Booking.Status.CONFIRMED

    # The one booking read back alone, and a yes: that one is cancelled.
    fake.script(Reply(tool("cancel_booking", booking_id=friday.pk)), Reply(words("Done. Bye!")))
    await call.say("yes")
    await sync_to_async(friday.refresh_from_db)()
    await sync_to_async(monday.refresh_from_db)()
    assert (friday.status, monday.status) == (Booking.Status.CANCELLED, Booking.Status.CONFIRMED)
