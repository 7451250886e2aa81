"""Moving a booking through the tools: its own current time is not in the way of the new one."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from bookings.tests.factories import BookingFactory, acreate
from calls.tests.conversation import CALLER, Conversation, local
from calls.tests.llm.fake_openai import Reply, tool, words

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_booking_moves_by_a_quarter_of_an_hour(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    booking = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 27, 11), customer_phone=CALLER
    )
    fake.script(
        Reply(
            tool("find_my_booking"),
            # Checked as a new booking, the caller's own haircut is in the way; as a move it isn't.
            tool("check_availability", service="Haircut", start="2026-11-27 11:15"),
            tool(
                "check_availability",
                service="Haircut",
                start="2026-11-27 11:15",
                booking_id=booking.pk,
            ),
        ),
        Reply(
            words(
                "I can move your haircut from Friday, November 27th at 11 AM to 11:15 AM. Shall I?"
            )
        ),
        Reply(tool("move_booking", booking_id=booking.pk, new_start="2026-11-27 11:15")),
        Reply(words("Done. See you on Friday. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Can I move my haircut a quarter of an hour later, to 11:15?")
    as_new, as_move = fake.requests[1].tool_results()[1:]
    assert as_new["available"] is False and as_new["reason"] == "taken"
    assert as_move["available"] is True
    assert await call.say("yes") == "Done. See you on Friday. Goodbye!"

    assert fake.requests[3].tool_results()[-1]["moved"] is True
    await sync_to_async(booking.refresh_from_db)()
    assert booking.status == Booking.Status.CANCELLED
    moved = await Booking.objects.filter(status=Booking.Status.CONFIRMED).aget()
    assert moved.start == local(demo, 2026, 11, 27, 11, 15)
    assert (call.engine.state.outcome, call.engine.state.booking_id) == ("moved", moved.pk)


async def test_a_move_onto_someone_elses_booking_is_refused_with_alternatives(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    booking = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 27, 11), customer_phone=CALLER
    )
    fake.script(
        Reply(
            tool("find_my_booking"),
            tool(
                "check_availability",
                service="Haircut",
                start="2026-11-27 14:00",
                booking_id=booking.pk,
            ),
        ),
        Reply(
            words("I can move your haircut from Friday, November 27th at 11 AM to 2 PM. Shall I?")
        ),
        Reply(tool("move_booking", booking_id=booking.pk, new_start="2026-11-27 14:00")),
        Reply(words("Sorry, that time was just taken.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Can I move my haircut to 2 on Friday?")
    # Someone else books 2 PM before the caller says yes.
    await acreate(
        BookingFactory,
        service=haircut,
        start=local(demo, 2026, 11, 27, 14),
        customer_phone="+15555550999",
    )
    await call.say("yes")

    result = fake.requests[3].tool_results()[-1]
    assert result["moved"] is False and result["reason"] == "taken"
    assert result["alternatives"]
    await sync_to_async(booking.refresh_from_db)()
    assert (booking.status, booking.start) == (
        Booking.Status.CONFIRMED,
        local(demo, 2026, 11, 27, 11),
    )
    assert call.engine.ending is None


async def test_a_move_to_the_time_it_already_has_is_not_a_move(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    booking = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 27, 11), customer_phone=CALLER
    )
    fake.script(
        Reply(
            tool("find_my_booking"),
            tool(
                "check_availability",
                service="Haircut",
                start="2026-11-27 11:00",
                booking_id=booking.pk,
            ),
        ),
        Reply(words("It's already booked for then. When would you like it instead?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Can I move my haircut to Friday at 11?")
    checked = fake.requests[1].tool_results()[1]
    assert checked["available"] is False and checked["reason"] == "unchanged"
    assert checked["say"] == "It's already booked for then."
    assert await Booking.objects.filter(status=Booking.Status.CONFIRMED).acount() == 1
