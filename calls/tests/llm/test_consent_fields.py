"""Consent on every field, through the fake model server: the model's book or move call is
written only for exactly what the caller heard read back before their yes. A different
service, a different name, a number nobody said, or a move of a booking other than the one
read back is refused; a number the caller said, heard read back and agreed to is used."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking
from bookings.tests.factories import BookingFactory, acreate
from calls.tests.conversation import CALLER, Conversation, local
from calls.tests.llm.fake_openai import Reply, tool, words

pytestmark = pytest.mark.django_db(transaction=True)

CHECK = Reply(tool("check_availability", service="Haircut", start="2026-11-27 15:00"))


def book(**fields) -> Reply:
    args = {"service": "Haircut", "start": "2026-11-27 15:00", "customer_name": "Ana Ruiz"}
    return Reply(tool("book", **{**args, **fields}))


def error_seen(request) -> str:
    return request.tool_results()[-1].get("error", "")


@sync_to_async
def bookings(business) -> list[Booking]:
    return list(Booking.objects.filter(business=business).select_related("service"))


async def read_back_then_yes(demo, fake, read_back: str, booking: Reply, first: str = ""):
    fake.script(CHECK, Reply(words(read_back)), booking, Reply(words("Sorry, let me check.")))
    call = await Conversation.start(demo, engine="llm")
    await call.say(first or "A haircut on Friday at 3 please, I'm Ana Ruiz")
    await call.say("yes")
    return error_seen(fake.requests[3])


async def test_a_book_call_for_another_service_than_read_back_is_refused(demo, fake):
    refused = await read_back_then_yes(
        demo,
        fake,
        "A beard trim for Ana Ruiz on Friday, November 27th at 3 PM. Shall I book it?",
        book(),
    )
    assert "did not name the service" in refused
    assert await bookings(demo) == []


async def test_a_book_call_for_another_name_than_read_back_is_refused(demo, fake):
    refused = await read_back_then_yes(
        demo,
        fake,
        "A haircut for Ana Ruiz on Friday, November 27th at 3 PM. Shall I book it?",
        book(customer_name="Maria Lopez"),
    )
    assert "did not name the name" in refused
    assert await bookings(demo) == []


async def test_a_phone_number_nobody_said_is_refused_even_when_read_back(demo, fake):
    refused = await read_back_then_yes(
        demo,
        fake,
        "A haircut for Ana Ruiz on Friday, November 27th at 3 PM, and I'll text 6 4 6, 5 5 5, "
        "0 1 1 1. Shall I book it?",
        book(phone="+16465550111"),
    )
    assert "the caller never said" in refused
    assert await bookings(demo) == []


async def test_a_number_the_caller_said_but_did_not_hear_read_back_is_refused(demo, fake):
    refused = await read_back_then_yes(
        demo,
        fake,
        "A haircut for Ana Ruiz on Friday, November 27th at 3 PM. Shall I book it?",
        book(phone="646 555 0189"),
        first="A haircut on Friday at 3, I'm Ana Ruiz, text me on 646 555 0189",
    )
    assert "the phone number, digit by digit" in refused
    assert await bookings(demo) == []


async def test_a_number_the_caller_said_heard_and_agreed_to_is_used(demo, fake):
    fake.script(
        CHECK,
        Reply(
            words(
                "A haircut for Ana Ruiz on Friday, November 27th at 3 PM, and I'll text the "
                "confirmation to 6 4 6, 5 5 5, 0 1 8 9. Shall I book it?"
            )
        ),
        book(phone="646-555-0189"),
        Reply(words("You're all set. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut on Friday at 3, I'm Ana Ruiz, text me on 646 555 0189")
    assert await call.say("yes") == "You're all set. Goodbye!"
    assert fake.requests[3].tool_results()[-1]["booked"] is True
    (booking,) = await bookings(demo)
    assert (booking.service.name, booking.customer_name, booking.customer_phone) == (
        "Haircut",
        "Ana Ruiz",
        "+16465550189",
    )
    assert booking.start == local(demo, 2026, 11, 27, 15)


async def test_a_move_of_another_booking_than_read_back_is_refused(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    friday, monday = [
        await acreate(BookingFactory, service=haircut, start=start, customer_phone=CALLER)
        for start in (local(demo, 2026, 11, 27, 11), local(demo, 2026, 11, 30, 14))
    ]
    fake.script(
        Reply(tool("find_my_booking")),
        Reply(
            tool(
                "check_availability",
                service="Haircut",
                start="2026-12-01 11:00",
                booking_id=monday.pk,
            )
        ),
        # The caller hears about the Friday booking, but the model moves Monday's.
        Reply(
            words(
                "Your haircut on Friday, November 27th at 11 AM moves to Tuesday, December 1st "
                "at 11 AM. Shall I move it?"
            )
        ),
        Reply(tool("move_booking", booking_id=monday.pk, new_start="2026-12-01 11:00")),
        Reply(words("Sorry, which booking was it?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Can I move my haircut to Tuesday at 11?")
    await call.say("yes")
    assert "Not done" in error_seen(fake.requests[4])
    rows = {(b.pk, b.status, b.start) for b in await bookings(demo)}
    assert rows == {
        (friday.pk, "confirmed", friday.start),
        (monday.pk, "confirmed", monday.start),
    }


async def test_a_move_read_back_naming_both_times_and_a_yes_moves_it_once(demo, fake):
    haircut = await sync_to_async(demo.services.get)(name="Haircut")
    monday = await acreate(
        BookingFactory, service=haircut, start=local(demo, 2026, 11, 30, 14), customer_phone=CALLER
    )
    fake.script(
        Reply(tool("find_my_booking")),
        Reply(
            tool(
                "check_availability",
                service="Haircut",
                start="2026-12-01 11:00",
                booking_id=monday.pk,
            )
        ),
        Reply(
            words(
                "Your haircut on Monday, November 30th at 2 PM moves to Tuesday, December 1st "
                "at 11 AM. Shall I move it?"
            )
        ),
        Reply(tool("move_booking", booking_id=monday.pk, new_start="2026-12-01 11:00")),
        Reply(words("Done, see you Tuesday. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Can I move my haircut to Tuesday at 11?")
    await call.say("yes please")
    assert fake.requests[4].tool_results()[-1]["moved"] is True
    rows = {(b.status, b.start) for b in await bookings(demo)}
    assert rows == {
        ("cancelled", local(demo, 2026, 11, 30, 14)),
        ("confirmed", local(demo, 2026, 12, 1, 11)),
    }
    assert call.engine.state.outcome == "moved"


async def test_questions_are_answered_by_the_desk_never_guessed(demo, fake):
    fake.script(
        Reply(tool("business_info", topic="price", service="manicure")),
        lambda request: Reply(words(request.tool_results()[-1]["say"])),
        Reply(tool("business_info", topic="hours", day="2026-11-29")),
        lambda request: Reply(words(request.tool_results()[-1]["say"])),
    )
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("How much is a manicure?")
    assert answer == "For a manicure, the salon will confirm the price with you."
    assert await call.say("Are you open on Sunday?") == "We're closed on Sundays."
