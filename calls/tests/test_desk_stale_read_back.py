"""Whole conversations where staff change a booking in admin between its read-back and the
caller's yes: the caller cancels or moves only what they heard. Nothing is written, and they
hear what the booking is now (bookings.services.locked_as_read_back).

Demo Salon on a frozen Wednesday, 2026-11-25 10:00 in New York (see test_desk_conversations).
"""

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from calls.tests.conversation import Conversation, local
from calls.tests.test_desk_conversations import booked, confirmed, texts_sent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_now")]


@sync_to_async
def staff_move(booking: Booking, start) -> None:
    """What saving the booking in admin with a new time does to the row."""
    Booking.objects.filter(pk=booking.pk).update(
        start=start, end=start + (booking.end - booking.start)
    )


class TestStaffChangedItSinceTheReadBack:
    async def test_cancel_one_cancels_nothing_and_says_what_it_is_now(self, demo):
        haircut = await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        answer = await call.say("I need to cancel my haircut")
        assert answer.endswith("on Saturday, November 28th at 2 PM. Shall I cancel it?")
        await staff_move(haircut, local(demo, 2026, 11, 28, 15))
        answer = await call.say("yes")
        assert answer.startswith(
            "I'm sorry, that booking has just been changed: your haircut is on Saturday, "
            "November 28th at 3 PM. Nothing's been cancelled."
        )
        assert not call.ended
        assert await confirmed(demo) == {("Haircut", local(demo, 2026, 11, 28, 15))}
        assert await texts_sent() == []

    async def test_cancel_both_cancels_neither_when_one_was_moved(self, demo):
        await booked(demo, "Haircut", 2026, 11, 28, 14)
        manicure = await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("hi, I need to cancel both my appointments please")
        assert answer.endswith("Shall I cancel both?")
        await staff_move(manicure, local(demo, 2026, 12, 1, 11))
        answer = await call.say("yes please")
        assert answer.startswith(
            "I'm sorry, that booking has just been changed: your manicure is on Tuesday, "
            "December 1st at 11 AM. Nothing's been cancelled."
        )
        assert await confirmed(demo) == {
            ("Haircut", local(demo, 2026, 11, 28, 14)),
            ("Manicure", local(demo, 2026, 12, 1, 11)),
        }
        assert await texts_sent() == []

    async def test_move_moves_nothing_when_staff_moved_it_first(self, demo):
        manicure = await booked(demo, "Manicure", 2026, 11, 30, 15)
        call = await Conversation.start(demo)
        answer = await call.say("can I move my manicure to Tuesday at 2?")
        assert "Your manicure on Monday, November 30th at 3 PM moves to Tuesday" in answer
        await staff_move(manicure, local(demo, 2026, 12, 2, 10))
        answer = await call.say("yes")
        assert answer.startswith(
            "I'm sorry, that booking has just been changed: your manicure is on Wednesday, "
            "December 2nd at 10 AM. Nothing's been moved."
        )
        assert await confirmed(demo) == {("Manicure", local(demo, 2026, 12, 2, 10))}
        assert await texts_sent() == []

    async def test_cancel_one_that_staff_cancelled_says_so(self, demo):
        haircut = await booked(demo, "Haircut", 2026, 11, 28, 14)
        call = await Conversation.start(demo)
        assert "Shall I cancel it?" in await call.say("I need to cancel my haircut")
        await Booking.objects.filter(pk=haircut.pk).aupdate(status=Booking.Status.CANCELLED)
        answer = await call.say("yes")
        assert answer == (
            "I'm sorry, your haircut on Saturday, November 28th at 2 PM has already been "
            "cancelled. What would you like to do?"
        )
        assert await texts_sent() == []
