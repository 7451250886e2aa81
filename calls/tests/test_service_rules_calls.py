"""Per-service rules in whole conversations, with both receptionists (Demo Salon, a frozen
Wednesday 2026-11-25 10:00 New York): hair colouring only Tuesday to Saturday, 10 to 3, and
a facial with a quarter of an hour's cleanup after it."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import sync_to_async

from bookings.models import Booking, OpeningHours, Service, ServiceHours
from calls.tests.conversation import Conversation, demo_business, local

pytestmark = pytest.mark.django_db(transaction=True)
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=NY)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=True):
        yield


@sync_to_async
def colouring_tuesday_to_saturday(business) -> Service:
    colouring = business.services.get(name="Hair colouring")
    for weekday in range(1, 6):
        ServiceHours.objects.create(
            service=colouring, weekday=weekday, opens=time(10), closes=time(15)
        )
    return colouring


@pytest.fixture
async def demo():
    business = await demo_business()
    await colouring_tuesday_to_saturday(business)
    return business


async def bookings_of(business):
    return [b async for b in Booking.objects.filter(business=business).select_related("service")]


async def test_colouring_on_a_monday_is_explained_and_an_allowed_time_booked(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Hi, this is Maria, can I get my hair coloured on Monday at 11?")
    assert answer == (
        "I'm sorry, we do hair colouring Tuesday to Saturday, 10 AM to 3 PM. "
        "I can do Tuesday at 10:45 AM, 11 AM or 11:15 AM. Which would you like?"
    )
    await call.say("the second one")
    answer = await call.say("yes")
    assert answer == (
        "A hair colouring for Maria on Tuesday, December 1st at 11 AM. Shall I book it?"
    ), str(call)
    assert "You're all set" in await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.start == local(demo, 2026, 12, 1, 11)


async def test_a_day_without_the_service_offers_its_days_only(demo):
    call = await Conversation.start(demo)
    answer = await call.say("Could I book a colour on Monday?")
    assert answer.startswith(
        "I'm sorry, we do hair colouring Tuesday to Saturday, 10 AM to 3 PM. I can do Tuesday"
    ), str(call)
    assert not await bookings_of(demo)


async def test_colouring_that_would_run_past_three_is_refused_with_its_hours(demo):
    call = await Conversation.start(demo)
    answer = await call.say("A colouring tomorrow at 2 please")
    assert answer == (
        "I'm sorry, we do hair colouring Tuesday to Saturday, 10 AM to 3 PM, start to finish. "
        "I can do tomorrow at 1 PM, 1:15 PM or 1:30 PM. Which would you like?"
    ), str(call)


async def test_the_next_caller_cannot_have_the_cleanup_time(demo):
    await Service.objects.filter(business=demo, name="Manicure").aupdate(buffer_minutes=15)
    first = await Conversation.start(demo, caller="+15555550111")
    await first.say("A manicure tomorrow at 2, I'm Ann")
    await first.say("yes")
    assert "You're all set" in await first.say("yes")
    (manicure,) = await bookings_of(demo)
    assert manicure.buffer_until == local(demo, 2026, 11, 26, 15)

    call = await Conversation.start(demo)
    answer = await call.say("Can I get a haircut tomorrow at 2:45? I'm Maria")
    assert answer == (
        "I'm sorry, tomorrow at 2:45 PM is already booked. "
        "I can do tomorrow at 3 PM, 3:15 PM or 3:30 PM. Which would you like?"
    ), str(call)
    await call.say("3 PM")
    await call.say("yes")
    assert "You're all set" in await call.say("yes"), str(call)
    starts = sorted(b.start for b in await bookings_of(demo))
    assert starts == [local(demo, 2026, 11, 26, 14), local(demo, 2026, 11, 26, 15)]


@sync_to_async
def open_on_sundays_with_colouring(business) -> None:
    OpeningHours.objects.create(business=business, weekday=6, opens=time(10), closes=time(16))
    colouring = business.services.get(name="Hair colouring")
    ServiceHours.objects.create(service=colouring, weekday=6, opens=time(10), closes=time(15))


@pytest.mark.parametrize(
    ("friday", "sunday", "utc_offset_after"),
    [
        (datetime(2026, 3, 6, 10, tzinfo=NY), "March 8th", -4),  # clocks go forward at 2 AM
        (datetime(2026, 10, 30, 10, tzinfo=NY), "November 1st", -5),  # and back
    ],
)
async def test_colouring_on_a_dst_sunday(demo, friday, sunday, utc_offset_after):
    with time_machine.travel(friday, tick=True):
        await open_on_sundays_with_colouring(demo)
        call = await Conversation.start(demo)
        answer = await call.say("Hi, I'm Maria, a colouring on Sunday at 2:30 please")
        assert answer == (
            "I'm sorry, we do hair colouring Tuesday to Sunday, 10 AM to 3 PM, start to finish. "
            "I can do Sunday at 1 PM, 1:15 PM or 1:30 PM. Which would you like?"
        ), str(call)
        await call.say("the last one")
        assert await call.say("yes") == (
            f"A hair colouring for Maria on Sunday, {sunday} at 1:30 PM. Shall I book it?"
        ), str(call)
        assert "You're all set" in await call.say("yes")
    (booking,) = await bookings_of(demo)
    assert booking.start.utcoffset() is not None
    assert booking.start.astimezone(NY).utcoffset().total_seconds() == utc_offset_after * 3600
    assert booking.end - booking.start == timedelta(minutes=90)
    assert booking.start.astimezone(NY).hour == 13 and booking.start.astimezone(NY).minute == 30
