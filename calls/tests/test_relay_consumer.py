"""The ConversationRelay socket, spoken to the way Twilio speaks to it."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from twilio.request_validator import RequestValidator

from calls.models import Call, CallTurn
from calls.services import record_incoming_call
from receptionist.routing import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def scripted_engine(settings):
    """The socket picks the configured default engine; these tests want the scripted one."""
    settings.CALL_DIALOGUE_ENGINE = "scripted"


def signed_url(path: str) -> str:
    """The ws(s) URL Twilio was given in the TwiML for this path (PUBLIC_BASE_URL's host)."""
    base = settings.PUBLIC_BASE_URL
    scheme = "wss" if base.startswith("https://") else "ws"
    return scheme + "://" + base.split("://", 1)[1] + path


def signature_for(path: str) -> str:
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(signed_url(path), {})


CALLER = "+15555550123"
BUSINESS_NUMBER = "+15555550100"


@sync_to_async
def ring(business, sid: str, *, from_number: str = CALLER) -> Call:
    """What Twilio's signed voice webhook records before it opens the socket."""
    return record_incoming_call(
        business=business, call_sid=sid, from_number=from_number, to_number=BUSINESS_NUMBER
    )


def relay(path: str, signature: str | None = "sign") -> WebsocketCommunicator:
    if signature == "sign":
        signature = signature_for(path)
    headers = [] if signature is None else [(b"x-twilio-signature", signature.encode())]
    return WebsocketCommunicator(application, path, headers=headers)


def setup_frame(sid: str, **fields) -> dict:
    """A setup message as Twilio sends it."""
    return {
        "type": "setup",
        "sessionId": "VX00000000000000000000000000000000",
        "accountSid": settings.TWILIO_ACCOUNT_SID,
        "callSid": sid,
        "from": CALLER,
        "to": BUSINESS_NUMBER,
        "forwardedFrom": "+15555550100",
        "callerName": "",
        "direction": "inbound",
        "callType": "PSTN",
        "callStatus": "RINGING",
        "customParameters": {},
        **fields,
    }


def prompt(text: str, last: bool = True) -> dict:
    return {"type": "prompt", "voicePrompt": text, "lang": "en-US", "last": last}


async def connected_call(business, sid: str) -> WebsocketCommunicator:
    await ring(business, sid)
    communicator = relay(f"/ws/voice/{business.slug}/{sid}/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to(setup_frame(sid))
    return communicator


async def answer(communicator: WebsocketCommunicator) -> list[dict]:
    """The text frames of one answer, up to and including the one with last: true."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        frames.append(frame)
        if frame["type"] != "text" or frame["last"]:
            return frames


def spoken(frames: list[dict]) -> str:
    return "".join(f["token"] for f in frames if f["type"] == "text").strip()


@sync_to_async
def transcript(sid: str) -> list[tuple[str, str, bool]]:
    return [(t.speaker, t.text, t.interrupted) for t in CallTurn.objects.filter(call__sid=sid)]


@sync_to_async
def call_row(sid: str) -> Call:
    return Call.objects.get(sid=sid)


# -- The handshake -------------------------------------------------------------------------


async def test_signed_handshake_is_accepted(salon):
    await ring(salon, "CAsigned")
    communicator = relay(f"/ws/voice/{salon.slug}/CAsigned/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_the_claim_and_the_calls_context_are_one_trip_to_the_database(salon, monkeypatch):
    import bookings.orm
    import calls.consumers
    import calls.session

    trips: list[str] = []

    def counted(func):
        trips.append(getattr(func, "__name__", repr(func)))
        return bookings.orm.run_orm(func)

    monkeypatch.setattr(calls.consumers, "run_orm", counted)
    monkeypatch.setattr(calls.session, "_load", lambda *args: pytest.fail("loaded twice"))
    communicator = await connected_call(salon, "CAonetrip")
    await communicator.send_json_to(prompt("hello"))

    assert spoken(await answer(communicator))
    assert trips == ["claim_call"]
    await communicator.disconnect()


async def test_signature_covers_the_query_string(salon):
    await ring(salon, "CAquery")
    path = f"/ws/voice/{salon.slug}/CAquery/"
    good = WebsocketCommunicator(
        application,
        path + "?lang=en",
        headers=[(b"x-twilio-signature", signature_for(path + "?lang=en").encode())],
    )
    assert (await good.connect())[0]
    await good.disconnect()
    reused = WebsocketCommunicator(
        application,
        path + "?lang=fr",
        headers=[(b"x-twilio-signature", signature_for(path + "?lang=en").encode())],
    )
    assert not (await reused.connect())[0]


@pytest.mark.parametrize(
    "signature",
    [None, "", "Zm9yZ2Vk", "signed for another call"],
    ids=["missing", "empty", "forged", "other-call"],
)
async def test_unsigned_or_forged_handshake_is_refused(salon, signature):
    path = f"/ws/voice/{salon.slug}/CAforged/"
    if signature == "signed for another call":
        signature = signature_for(f"/ws/voice/{salon.slug}/CAother/")
    communicator = relay(path, signature)
    connected, _ = await communicator.connect()
    assert not connected
    assert not await sync_to_async(Call.objects.filter(sid="CAforged").exists)()


async def test_signed_with_the_wrong_token_is_refused(salon):
    path = f"/ws/voice/{salon.slug}/CAwrongtoken/"
    wrong = RequestValidator("not-our-token").compute_signature(signed_url(path), {})
    connected, _ = await relay(path, wrong).connect()
    assert not connected


# -- The conversation ----------------------------------------------------------------------


async def test_prompt_is_answered_in_several_tokens_then_last(salon):
    communicator = await connected_call(salon, "CAtalk")
    await communicator.send_json_to(prompt("a haircut on Friday at 3:30 p.m. please"))
    frames = await answer(communicator)
    assert len(frames) >= 3
    assert all(f["type"] == "text" for f in frames)
    assert [f["last"] for f in frames] == [False] * (len(frames) - 1) + [True]
    assert spoken(frames) == "You said: a haircut on Friday at 3:30 p.m. please. Anything else?"
    await communicator.disconnect()
    assert await transcript("CAtalk") == [
        ("receptionist", salon.welcome_greeting, False),
        ("caller", "a haircut on Friday at 3:30 p.m. please", False),
        (
            "receptionist",
            "You said: a haircut on Friday at 3:30 p.m. please. Anything else?",
            False,
        ),
    ]
    call = await call_row("CAtalk")
    assert (call.from_number, call.to_number, call.engine) == (
        "+15555550123",
        "+15555550100",
        "scripted",
    )


async def test_partial_prompts_are_not_answered(salon):
    communicator = await connected_call(salon, "CApartial")
    await communicator.send_json_to(prompt("a hair", last=False))
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.send_json_to(prompt("a haircut"))
    assert spoken(await answer(communicator)) == "You said: a haircut. Anything else?"
    await communicator.disconnect()


async def test_interrupt_stops_streaming_and_keeps_what_was_heard(salon):
    communicator = await connected_call(salon, "CAinterrupt")
    await communicator.send_json_to(prompt("tell me a story"))
    first = await communicator.receive_json_from(timeout=5)
    assert first["token"].startswith("This is sentence number 1")
    heard = "This is sentence number 1 of a"
    await communicator.send_json_to(
        {"type": "interrupt", "utteranceUntilInterrupt": heard, "durationUntilInterruptMs": 900}
    )
    # Tokens already on the wire may still arrive; then the stream stops without closing.
    leftovers = []
    while not await communicator.receive_nothing(timeout=0.2):
        leftovers.append(await communicator.receive_json_from())
    assert len(leftovers) < 5
    assert not any(f.get("last") for f in leftovers)
    await communicator.send_json_to(prompt("what was that"))
    assert spoken(await answer(communicator)) == "You said: what was that. Anything else?"
    await communicator.disconnect()
    assert (await transcript("CAinterrupt"))[1:3] == [
        ("caller", "tell me a story", False),
        ("receptionist", heard, True),
    ]


async def test_keypad_digits_are_answered_after_hash(salon):
    communicator = await connected_call(salon, "CAkeys")
    for digit in "12#":
        await communicator.send_json_to({"type": "dtmf", "digit": digit})
    assert spoken(await answer(communicator)) == "You said: digits 12. Anything else?"
    await communicator.disconnect()


async def test_goodbye_sends_end_with_handoff_data_as_a_json_string(salon):
    communicator = await connected_call(salon, "CAbye")
    await communicator.send_json_to(prompt("bye now"))
    assert spoken(await answer(communicator)) == "Thanks for calling. Goodbye!"
    end = await communicator.receive_json_from(timeout=5)
    assert end["type"] == "end"
    assert isinstance(end["handoffData"], str)
    assert json.loads(end["handoffData"]) == {"reason": "goodbye"}
    await communicator.disconnect()


async def test_transfer_end_names_the_number(salon):
    communicator = await connected_call(salon, "CAxfer")
    await communicator.send_json_to(prompt("can I speak to a person"))
    await answer(communicator)
    end = await communicator.receive_json_from(timeout=5)
    assert json.loads(end["handoffData"]) == {"reason": "transfer", "transferTo": "+15555550999"}
    await communicator.disconnect()
    call = await call_row("CAxfer")
    assert (call.outcome, call.handoff_to) == ("transferred", "+15555550999")


async def test_twilio_errors_are_recorded_on_the_call(salon):
    communicator = await connected_call(salon, "CAerr")
    await communicator.send_json_to({"type": "error", "description": "Invalid message received"})
    await communicator.send_json_to(prompt("hello"))
    await answer(communicator)
    await communicator.disconnect()
    events = (await call_row("CAerr")).events
    assert [(e["event"], e["detail"]) for e in events] == [
        ("transport_error", "Invalid message received")
    ]


async def test_disconnect_marks_the_call_abandoned(salon):
    communicator = await connected_call(salon, "CAhangup")
    await communicator.send_json_to(prompt("hello"))
    await answer(communicator)
    await communicator.disconnect()
    call = await call_row("CAhangup")
    assert call.outcome == "abandoned"
    assert call.ended_at is not None


async def test_socket_for_an_unknown_business_is_refused(transactional_db):
    # Twilio never gets a <ConversationRelay> for it: the webhook answered "not taking calls".
    assert not (await relay("/ws/voice/nobody/CAnobody/").connect())[0]


async def test_business_closed_after_the_webhook_is_told_sorry_and_ended(salon):
    await ring(salon, "CAclosed")
    salon.is_active = False
    await salon.asave(update_fields=["is_active"])
    communicator = relay(f"/ws/voice/{salon.slug}/CAclosed/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to(setup_frame("CAclosed"))
    assert "isn't taking calls" in spoken(await answer(communicator))
    end = await communicator.receive_json_from(timeout=5)
    assert json.loads(end["handoffData"]) == {"reason": "unavailable"}
    await communicator.disconnect()


# -- Frames that must not end the call -----------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "not json {",
        "[1, 2, 3]",
        '"just a string"',
        "null",
        json.dumps({"no": "type"}),
        json.dumps({"type": 7}),
        json.dumps({"type": "telepathy", "thought": "hi"}),
        json.dumps({"type": "prompt", "voicePrompt": 42, "last": True}),
        json.dumps({"type": "prompt", "voicePrompt": "hi", "last": "true"}),
        json.dumps({"type": "prompt", "last": True}),
        json.dumps({"type": "dtmf", "digit": 5}),
        json.dumps({"type": "dtmf", "digit": "too many"}),
        json.dumps({"type": "interrupt", "utteranceUntilInterrupt": ["x"]}),
        json.dumps({"type": "error", "description": {"nested": True}}),
        json.dumps({"type": "info", "name": "whatever"}),
        json.dumps({"type": "setup", "callSid": "CAsecond"}),
        json.dumps({"type": "prompt", "voicePrompt": "x" * 70_000, "last": True}),
        "[" * 50_000 + "]" * 50_000,
    ],
    ids=[
        "not-json",
        "array",
        "string",
        "null",
        "no-type",
        "numeric-type",
        "unknown-type",
        "prompt-not-string",
        "last-not-bool",
        "prompt-missing",
        "digit-not-string",
        "digit-junk",
        "interrupt-junk",
        "error-junk",
        "info",
        "second-setup",
        "oversized",
        "deeply-nested",
    ],
)
async def test_bad_frames_are_ignored_and_the_call_goes_on(salon, frame):
    communicator = await connected_call(salon, "CAjunk")
    await communicator.send_to(text_data=frame)
    await communicator.send_json_to(prompt("still there"))
    frames = await answer(communicator)
    assert spoken(frames) == "You said: still there. Anything else?"
    await communicator.disconnect()


async def test_binary_frames_are_ignored(salon):
    communicator = await connected_call(salon, "CAbinary")
    await communicator.send_to(bytes_data=b"\x00\x01 audio?")
    await communicator.send_json_to(prompt("still there"))
    assert spoken(await answer(communicator)) == "You said: still there. Anything else?"
    await communicator.disconnect()


async def test_prompt_before_setup_is_held_and_the_call_goes_on(salon):
    await ring(salon, "CAeager")
    communicator = relay(f"/ws/voice/{salon.slug}/CAeager/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to(prompt("hello?"))
    assert spoken(await answer(communicator)) == "One moment please."
    await communicator.send_json_to(setup_frame("CAeager"))
    await communicator.send_json_to(prompt("hello"))
    assert spoken(await answer(communicator)) == "You said: hello. Anything else?"
    await communicator.disconnect()


async def test_rejected_frames_are_logged_short_and_without_secrets(salon, caplog):
    communicator = await connected_call(salon, "CAlogs")
    await communicator.send_to(text_data="{" + "y" * 5000)
    await communicator.send_json_to(prompt("hi"))
    await answer(communicator)
    await communicator.disconnect()
    rejected = [r.getMessage() for r in caplog.records if "not JSON" in r.getMessage()]
    assert len(rejected) == 1
    assert len(rejected[0]) < 400
    assert settings.TWILIO_AUTH_TOKEN not in caplog.text
