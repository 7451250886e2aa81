"""The LLM engine's tools, when staff change a booking between its read-back and the caller's
yes: nothing is written, and the model is told what the booking is now."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from bookings.tests.factories import BookingFactory, acreate
from calls.tests.conversation import CALLER, Conversation, local
from calls.tests.llm.fake_openai import Reply, tool, words

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_cancel_of_a_booking_staff_just_moved_cancels_nothing(demo, fake):
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
        Reply(words("Sorry, it was just changed.")),
    )
    call = await Conversation.start(demo, engine="llm")
    assert (await call.say("I need to cancel my appointment")).endswith("Shall I cancel it?")
    moved = local(demo, 2026, 11, 27, 14)
    await Booking.objects.filter(pk=booking.pk).aupdate(
        start=moved, end=moved + (booking.end - booking.start)
    )
    await call.say("yes please")

    result = fake.requests[3].tool_results()[-1]
    assert (result["cancelled"], result["reason"]) == (False, "changed")
    assert result["explanation"] == (
        "I'm sorry, that booking has just been changed: your haircut is on Friday, "
        "November 27th at 2 PM. Nothing's been cancelled."
    )
    await sync_to_async(booking.refresh_from_db)()
    assert booking.status == Booking.Status.CONFIRMED
    assert call.engine.ending is None
