"""What a ConversationRelay socket may do: only the call Twilio placed, once, as the caller
Twilio saw; and nothing odd on one socket costs any other call its record."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.utils import timezone

from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from calls.models import Call, CallTurn
from calls.tests.test_relay_consumer import (
    BUSINESS_NUMBER,
    CALLER,
    answer,
    call_row,
    connected_call,
    prompt,
    relay,
    ring,
    scripted_engine,
    setup_frame,
    spoken,
    transcript,
)
from receptionist.routing import application

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["scripted_engine"]  # the autouse fixture, shared with the consumer tests

VICTIM = "+15555550177"


async def connects(path: str) -> bool:
    communicator = relay(path)
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected


@sync_to_async
def record_of(sid: str) -> tuple:
    call = Call.objects.get(sid=sid)
    turns = list(CallTurn.objects.filter(call=call).values_list("speaker", "text"))
    return (call.outcome, call.ended_at, call.events, call.booking_id, call.from_number, turns)


# -- Replay: only a recent, un-ended call, and only once -------------------------------------


async def test_replaying_a_finished_calls_handshake_is_refused_and_changes_nothing(salon):
    communicator = await connected_call(salon, "CAfinished")
    await communicator.send_json_to(prompt("this one is booked"))
    await answer(communicator)
    await communicator.send_json_to(prompt("bye now"))
    await answer(communicator)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "end"
    await communicator.disconnect()
    before = await record_of("CAfinished")
    assert before[0] == "booked"

    replay = relay(f"/ws/voice/{salon.slug}/CAfinished/")
    assert not (await replay.connect())[0]
    assert await record_of("CAfinished") == before


async def test_a_second_socket_for_a_live_call_is_refused(salon):
    first = await connected_call(salon, "CAtwice")
    second = relay(f"/ws/voice/{salon.slug}/CAtwice/")
    assert not (await second.connect())[0]
    await first.send_json_to(prompt("still mine"))
    assert spoken(await answer(first)) == "You said: still mine. Anything else?"
    await first.disconnect()
    assert [text for speaker, text, _ in await transcript("CAtwice") if speaker == "caller"] == [
        "still mine"
    ]


async def test_a_socket_closed_before_setup_lets_twilio_connect_again(salon):
    await ring(salon, "CAretry")
    path = f"/ws/voice/{salon.slug}/CAretry/"
    assert await connects(path)  # nothing said: the claim is given back
    communicator = relay(path)
    assert (await communicator.connect())[0]
    await communicator.send_json_to(setup_frame("CAretry"))
    await communicator.send_json_to(prompt("hello"))
    assert spoken(await answer(communicator)) == "You said: hello. Anything else?"
    await communicator.disconnect()
    assert not await connects(path)  # a conversation took place: never again


async def test_a_call_no_webhook_recorded_is_refused(salon):
    assert not await connects(f"/ws/voice/{salon.slug}/CAnowebhook/")
    assert not await sync_to_async(Call.objects.filter(sid="CAnowebhook").exists)()


async def test_a_call_recorded_for_another_business_is_refused(salon):
    await ring(salon, "CAelsewhere")
    assert not await connects("/ws/voice/other-salon/CAelsewhere/")


async def test_a_handshake_long_after_the_webhook_is_refused(salon, settings):
    settings.CALL_SOCKET_WINDOW_SECONDS = 300
    call = await ring(salon, "CAstale")
    stale = timezone.now() - timedelta(seconds=301)
    await Call.objects.filter(pk=call.pk).aupdate(started_at=stale)
    assert not await connects(f"/ws/voice/{salon.slug}/CAstale/")
    settings.CALL_SOCKET_WINDOW_SECONDS = 600  # the window is a setting
    assert await connects(f"/ws/voice/{salon.slug}/CAstale/")


async def test_a_simulated_call_never_takes_a_twilio_socket(salon):
    await sync_to_async(Call.objects.create)(
        sid="SIMcall", business=salon, channel=Call.Channel.SIMULATOR
    )
    assert not await connects(f"/ws/voice/{salon.slug}/SIMcall/")


def test_of_many_processes_racing_for_one_call_exactly_one_wins(salon):
    from calls.services import claim_relay_socket

    call = Call.objects.create(sid="CArace", business=salon, from_number=CALLER)

    def claim(_: int) -> bool:
        try:
            return claim_relay_socket(business_slug=salon.slug, call_sid=call.sid) is not None
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(claim, range(8)))
    assert won.count(True) == 1


# -- Identity: the signed webhook's From, not the setup's -------------------------------------


async def test_setup_naming_another_caller_is_logged_and_ignored(salon, settings, caplog):
    settings.CALL_DIALOGUE_ENGINE = "embedded"
    victims = await sync_to_async(BookingFactory)(
        business=salon,
        customer_phone=VICTIM,
        start=timezone.now() + timedelta(days=3),
    )
    await ring(salon, "CAimpostor", from_number=CALLER)
    communicator = relay(f"/ws/voice/{salon.slug}/CAimpostor/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to(setup_frame("CAimpostor", **{"from": VICTIM}))
    await communicator.send_json_to(prompt("I want to cancel my appointment"))
    said = spoken(await answer(communicator))
    await communicator.send_json_to(prompt("yes, cancel it"))
    said += " " + spoken(await answer(communicator))
    await communicator.disconnect()

    await victims.arefresh_from_db()
    assert victims.status == Booking.Status.CONFIRMED, said
    assert (await call_row("CAimpostor")).from_number == CALLER
    assert any(
        "ignoring setup's from" in r.getMessage() and VICTIM in r.getMessage()
        for r in caplog.records
    )


async def test_setup_agreeing_with_the_webhook_logs_nothing(salon, caplog):
    communicator = await connected_call(salon, "CAhonest")
    await communicator.send_json_to(prompt("hi"))
    await answer(communicator)
    await communicator.disconnect()
    assert not [r for r in caplog.records if "ignoring setup" in r.getMessage()]
    call = await call_row("CAhonest")
    assert (call.from_number, call.to_number) == (CALLER, BUSINESS_NUMBER)


# -- Text that can't be stored --------------------------------------------------------------


async def test_a_lone_surrogate_costs_no_call_its_transcript(salon):
    clean = await connected_call(salon, "CAclean")
    dirty = await connected_call(salon, "CAdirty")
    # Both prompts land together, so their turns are written together.
    await dirty.send_to(
        text_data='{"type": "prompt", "voicePrompt": "bad \\ud800 text", "last": true}'
    )
    await clean.send_json_to(prompt("good text"))
    await answer(dirty)
    await answer(clean)
    await dirty.send_to(
        text_data='{"type": "prompt", "voicePrompt": "nul \\u0000 here", "last": true}'
    )
    await answer(dirty)
    await clean.disconnect()
    await dirty.disconnect()

    assert [text for _, text, _ in await transcript("CAclean")] == [
        salon.welcome_greeting,
        "good text",
        "You said: good text. Anything else?",
    ]
    dirty_turns = [text for speaker, text, _ in await transcript("CAdirty") if speaker == "caller"]
    assert dirty_turns == ["bad \ufffd text", "nul  here"]


# -- Odd input: clean refusals, one log line ------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/ws/voice/maple/CA" + "a" * 63 + "/",  # a 65-character CallSid
        "/ws/voice/maple/../",
        "/ws/voice/../../etc/passwd/",
        "/ws/unknown/",
        "/",
    ],
    ids=["sid-65", "dotdot", "traversal", "unknown-prefix", "root"],
)
async def test_unknown_socket_paths_are_refused_without_a_traceback(salon, path, caplog):
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect()
    assert not connected
    assert not [r for r in caplog.records if r.exc_info]
    assert len([r for r in caplog.records if "unknown path" in r.getMessage()]) == 1


async def test_frames_after_the_end_are_logged_once(salon, caplog):
    communicator = await connected_call(salon, "CAflood")
    await communicator.send_json_to(prompt("bye now"))
    await answer(communicator)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "end"
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="calls"):
        for n in range(200):
            await communicator.send_json_to(prompt(f"flood {n}"))
        for junk in ("not json", '{"type": "dtmf", "digit": 5}', json.dumps({"type": "x"})):
            await communicator.send_to(text_data=junk)
        await communicator.send_to(bytes_data=b"\x00")
        await asyncio.sleep(0.1)
    await communicator.disconnect()
    about_the_call = [r for r in caplog.records if "CAflood" in r.getMessage()]
    assert len(about_the_call) == 1, [r.getMessage() for r in about_the_call]
    turns = [text for speaker, text, _ in await transcript("CAflood") if speaker == "caller"]
    assert turns == ["bye now"]
