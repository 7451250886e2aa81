"""Booking through the model's tool calls: what gets booked is decided by our tools."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Booking, OutboxTask
from bookings.tests.factories import BookingFactory, acreate
from calls.models import ReceptionistSettings
from calls.tests.conversation import CALLER, Conversation, local
from calls.tests.llm.fake_openai import Reply, tool, words
from calls.tests.llm.line import open_line, say

pytestmark = pytest.mark.django_db(transaction=True)

READ_BACK = "A haircut for Maria on Thursday, November 26th at 3 PM. Shall I book it?"


async def bookings_of(business) -> list[Booking]:
    return [b async for b in Booking.objects.filter(business=business).select_related("service")]


def last_result(request) -> dict:
    return request.tool_results()[-1]


async def test_a_whole_booking_by_tool_calls(demo, fake):
    fake.script(
        Reply(
            words("Let me check that for you."),
            tool("check_availability", service="Haircut", start="2026-11-26 15:00"),
        ),
        Reply(words("Tomorrow at 3 PM is free. Can I take your name?")),
        Reply(words(READ_BACK)),
        Reply(tool("book", service="Haircut", start="2026-11-26 15:00", customer_name="Maria")),
        Reply(words("You're all set, Maria. I'll text you a confirmation. Goodbye!")),
    )
    call = await Conversation.start(demo, engine="llm")

    first = await call.say("Hi, can I get a haircut tomorrow at 3?")
    assert first == "Let me check that for you. Tomorrow at 3 PM is free. Can I take your name?"
    assert await call.say("It's Maria") == READ_BACK
    assert not await bookings_of(demo)
    goodbye = await call.say("yes please")
    assert goodbye == "You're all set, Maria. I'll text you a confirmation. Goodbye!"

    (booking,) = await bookings_of(demo)
    assert booking.start == local(demo, 2026, 11, 26, 15)
    assert (booking.service.name, booking.customer_name, booking.customer_phone) == (
        "Haircut",
        "Maria",
        CALLER,
    )
    assert booking.source_call_sid == "CAtest"
    state = call.engine.state
    assert (state.outcome, state.booking_id) == ("booked", booking.pk)
    assert call.engine.ending is not None and call.engine.ending.reason == "booked"
    # The confirmation text is queued exactly as for the embedded receptionist.
    kinds = await sync_to_async(list)(
        OutboxTask.objects.filter(payload__booking_id=booking.pk).values_list("kind", flat=True)
    )
    assert any("sms" in kind for kind in kinds), kinds

    # What the model was told by the tools.
    checked = last_result(fake.requests[1])
    assert checked["available"] is True
    assert checked["say"] == "Thursday, November 26th at 3 PM"
    assert last_result(fake.requests[4])["booked"] is True
    assert {r.body["model"] for r in fake.requests} == {"fake-model"}
    assert all(r.body["stream"] is True for r in fake.requests)
    assert set(fake.requests[0].tool_names) == {
        "check_availability",
        "book",
        "find_my_booking",
        "cancel_booking",
        "move_booking",
        "transfer_to_person",
        "take_message",
        "business_info",
        "end_call",
    }


async def test_the_prompt_describes_the_business_and_the_caller(demo, fake):
    fake.script(Reply(words("Hello! How can I help?")))
    call = await Conversation.start(demo, engine="llm")
    await call.say("Hello?")

    system = fake.requests[0].messages[0]
    assert system["role"] == "system"
    prompt = system["content"]
    for expected in (
        "Demo Salon",
        "Haircut: 30 minutes",
        "Hair colouring: 90 minutes",
        "Monday to Friday 9 AM to 6 PM, Saturday 10 AM to 4 PM and closed Sundays.",
        "America/New_York",
        "Wednesday, November 25th 2026, 10 AM",
        CALLER,
    ):
        assert expected in prompt
    # The greeting the caller heard comes first, then what they said.
    assert fake.requests[0].messages[1:] == [
        {"role": "assistant", "content": demo.welcome_greeting},
        {"role": "user", "content": "Hello?"},
    ]


async def test_a_business_can_choose_its_own_model(demo, fake):
    await sync_to_async(ReceptionistSettings.objects.create)(
        business=demo, engine="llm", llm_model="small-fast-model"
    )
    fake.script(Reply(words("Hello!")))
    call = await Conversation.start(demo, engine="llm")
    await call.say("Hello?")
    assert fake.requests[0].body["model"] == "small-fast-model"


async def test_a_call_keeps_the_model_it_started_with(demo, fake):
    await sync_to_async(ReceptionistSettings.objects.create)(
        business=demo, engine="llm", llm_model="small-fast-model"
    )
    fake.script(Reply(words("Hello!")))
    session, line = await open_line(demo, "CAllmsamemodel")
    # Admin picks another model while the caller is on the line: the next call gets it.
    await sync_to_async(ReceptionistSettings.objects.filter(business=demo).update)(
        llm_model="big-slow-model"
    )
    assert await say(session, line, "Hello?") == "Hello!"
    assert fake.requests[0].body["model"] == "small-fast-model"
    await session.close()


async def test_a_taken_slot_is_refused_with_the_reason_and_alternatives(demo, fake):
    await acreate(
        BookingFactory,
        service=await sync_to_async(demo.services.get)(name="Haircut"),
        start=local(demo, 2026, 11, 26, 15),
        customer_phone="+15555550111",
    )

    def offer_what_the_tool_said(request) -> Reply:
        result = last_result(request)
        return Reply(
            words(f"{result['explanation']} I can do {result['say_alternatives']}. Which?")
        )

    fake.script(
        Reply(tool("check_availability", service="haircut", start="tomorrow at 3")),
        offer_what_the_tool_said,
    )
    call = await Conversation.start(demo, engine="llm")
    answer = await call.say("A haircut tomorrow at 3 please")

    result = last_result(fake.requests[1])
    assert result["available"] is False
    assert result["reason"] == "taken"
    assert result["explanation"] == "I'm sorry, tomorrow at 3 PM is already booked."
    assert [a["start"] for a in result["alternatives"]] == [
        "2026-11-26 14:15",
        "2026-11-26 14:30",
        "2026-11-26 15:30",
    ]
    assert result["say_alternatives"] == "tomorrow at 2:15 PM, 2:30 PM or 3:30 PM"
    assert answer == (
        "I'm sorry, tomorrow at 3 PM is already booked. "
        "I can do tomorrow at 2:15 PM, 2:30 PM or 3:30 PM. Which?"
    )
    # A refused time is no slot to book.
    assert call.engine.consent.slot is None


@pytest.mark.parametrize(
    ("start", "reason", "explanation"),
    [
        ("2026-11-26 20:00", "outside_hours", "outside our hours. Tomorrow we're open 9 AM"),
        ("2026-11-29 11:00", "closed_day", "I'm sorry, we're closed on Sundays."),
        ("2026-11-25 10:15", "too_soon", "we need at least 1 hour notice"),
    ],
)
async def test_times_we_cannot_book_are_refused_with_a_reason(
    demo, fake, start, reason, explanation
):
    fake.script(
        Reply(tool("check_availability", service="Haircut", start=start)),
        Reply(words("Sorry, that doesn't work.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A haircut please")
    result = last_result(fake.requests[1])
    assert (result["available"], result["reason"]) == (False, reason)
    assert explanation in result["explanation"]
    assert result["alternatives"], "the nearest free times are offered"


async def test_unknown_service_and_unreadable_time_are_tool_errors(demo, fake):
    fake.script(
        Reply(
            tool("check_availability", service="Deep tissue massage", start="2026-11-26 15:00"),
            tool("check_availability", service="Haircut", start="whenever suits"),
        ),
        Reply(words("Sorry, we don't do massages. What time would you like a haircut?")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A massage or a haircut, whenever suits")

    unknown, unreadable = fake.requests[1].tool_results()
    assert "We don't offer 'Deep tissue massage'" in unknown["error"]
    assert "Haircut (30 minutes)" in unknown["error"]
    assert "Beard trim (15 minutes)" in unknown["error"]
    assert "Could not read 'whenever suits' as a date and time" in unreadable["error"]
    assert call.engine.consent.slot is None


async def test_a_day_without_a_time_gets_free_times_that_day(demo, fake):
    fake.script(
        Reply(tool("check_availability", service="Manicure", start="Friday morning")),
        Reply(words("I can do a few times on Friday morning.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("A manicure on Friday morning")
    result = last_result(fake.requests[1])
    assert result["reason"] == "no_time_given"
    assert [f["start"] for f in result["free_times"]] == [
        "2026-11-27 09:00",
        "2026-11-27 09:30",
        "2026-11-27 10:00",
    ]
    assert result["say_free_times"] == "Friday at 9 AM, 9:30 AM or 10 AM"


async def test_tool_call_ids_a_server_reuses_still_pair_with_their_results(demo, fake):
    fake.script(
        Reply(tool("check_availability", service="Haircut", start="2026-11-26 15:00", call_id="0")),
        Reply(tool("check_availability", service="Haircut", start="2026-11-26 16:00", call_id="0")),
        Reply(words("Both are free.")),
    )
    call = await Conversation.start(demo, engine="llm")
    await call.say("Haircut tomorrow at 3 or 4?")
    messages = fake.requests[2].messages
    call_ids = [c["id"] for m in messages for c in m.get("tool_calls") or ()]
    result_ids = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert len(set(call_ids)) == 2 and result_ids == call_ids
    assert [r["start"] for r in fake.requests[2].tool_results()] == [
        "2026-11-26 15:00",
        "2026-11-26 16:00",
    ]
