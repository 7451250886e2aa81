"""The call session, driven directly with an in-memory transport (no socket)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from bookings.tests.factories import BusinessFactory, acreate
from calls.dialogue import registry
from calls.models import Call, CallTurn
from calls.session import APOLOGY, NOT_READY, CallSession
from calls.speech_chunks import SpeechChunker, speech_tokens

pytestmark = pytest.mark.django_db(transaction=True)


class MemoryTransport:
    """Keeps what the caller would have heard, turn by turn."""

    def __init__(self) -> None:
        self.frames: list[tuple] = []
        self.turn_done = asyncio.Event()
        self.ended = asyncio.Event()

    async def send_text(self, token: str, last: bool) -> None:
        self.frames.append(("text", token, last))
        if last:
            self.turn_done.set()

    async def end(self, handoff_data: dict[str, str]) -> None:
        self.frames.append(("end", handoff_data))
        self.ended.set()

    async def next_answer(self, timeout: float = 5) -> str:
        """The text of the next complete answer."""
        await asyncio.wait_for(self.turn_done.wait(), timeout)
        self.turn_done.clear()
        return self.heard()

    def heard(self) -> str:
        text = "".join(f[1] for f in self.frames if f[0] == "text")
        self.frames = [f for f in self.frames if f[0] != "text"]
        return text.strip()

    @property
    def handoffs(self) -> list[dict]:
        return [f[1] for f in self.frames if f[0] == "end"]


async def make_session(business, sid="CA100", **kwargs) -> tuple[CallSession, MemoryTransport]:
    transport = MemoryTransport()
    session = CallSession(
        business_slug=business.slug, call_sid=sid, transport=transport, engine_key="scripted"
    )
    assert await session.start(caller_number=kwargs.get("caller", "+15555550123"))
    return session, transport


@sync_to_async
def transcript(sid: str) -> list[tuple[str, str, bool]]:
    turns = CallTurn.objects.filter(call__sid=sid)
    return [(t.speaker, t.text, t.interrupted) for t in turns]


@sync_to_async
def call_row(sid: str) -> Call:
    return Call.objects.get(sid=sid)


def event_names(call: Call) -> list[str]:
    return [e["event"] for e in call.events]


# -- Chunking ------------------------------------------------------------------------------


def test_answer_is_cut_after_sentences_and_clauses():
    assert speech_tokens("You said: a haircut. Anything else? Great!") == [
        "You said:",
        " a haircut.",
        " Anything else?",
        " Great!",
    ]


def test_times_numbers_and_abbreviations_are_never_split():
    text = "We open at 9 a.m. and close at 5:30 p.m. on 1,000 days a year for 2.5 hours."
    assert speech_tokens(text) == [text]


def test_commas_split_only_long_clauses():
    assert speech_tokens("Yes, Tuesday works.") == ["Yes, Tuesday works."]
    long = "I can do Tuesday at 3 PM or Wednesday at 10 AM, whichever suits you. Which?"
    assert speech_tokens(long) == [
        "I can do Tuesday at 3 PM or Wednesday at 10 AM,",
        " whichever suits you.",
        " Which?",
    ]


def test_streamed_pieces_wait_for_a_number_to_finish():
    chunker = SpeechChunker()
    assert chunker.feed("See you at 3:") == []
    assert chunker.feed("30. Bye") == ["See you at 3:30."]
    assert chunker.flush() == [" Bye"]


def test_a_finished_sentence_is_sent_before_the_next_piece_arrives():
    chunker = SpeechChunker()
    assert chunker.feed("Let me check that for you.") == ["Let me check that for you."]


def test_tokens_join_back_into_the_answer():
    text = "Okay. " * 50 + "x" * 700
    assert "".join(speech_tokens(text)) == text
    assert all(len(token) <= 240 for token in speech_tokens(text))


# -- Starting ------------------------------------------------------------------------------


async def test_start_records_the_call_and_the_greeting(salon):
    session, _transport = await make_session(salon, sid="CAstart")
    call = await call_row("CAstart")
    assert session.call_id == call.pk
    assert session.greeting == salon.welcome_greeting
    assert (call.engine, call.from_number, call.channel) == ("scripted", "+15555550123", "phone")
    await session.close()
    assert await transcript("CAstart") == [("receptionist", salon.welcome_greeting, False)]


async def test_start_is_idempotent_on_the_call_sid(salon):
    first, _ = await make_session(salon, sid="CAsame")
    await first.close()
    second, _ = await make_session(salon, sid="CAsame")
    await second.close()
    assert await sync_to_async(Call.objects.filter(sid="CAsame").count)() == 1


async def test_unknown_or_inactive_business_is_refused_politely(transactional_db):
    closed = await acreate(BusinessFactory, slug="closed", is_active=False)
    for slug in ("nobody", closed.slug):
        transport = MemoryTransport()
        session = CallSession(business_slug=slug, call_sid=f"CA{slug}", transport=transport)
        assert await session.start() is False
        assert "isn't taking calls" in await transport.next_answer()
        assert transport.handoffs == [{"reason": "unavailable"}]
        assert session.ended


async def test_prompt_before_start_asks_the_caller_to_hold(salon):
    transport = MemoryTransport()
    session = CallSession(
        business_slug=salon.slug, call_sid="CAearly", transport=transport, engine_key="scripted"
    )
    await session.handle_prompt("hello?")
    assert await transport.next_answer() == NOT_READY
    assert await session.start()
    await session.handle_prompt("hello again")
    assert await transport.next_answer() == "You said: hello again. Anything else?"
    await session.close()


# -- Answering -----------------------------------------------------------------------------


async def test_answer_streams_in_tokens_closed_by_last(salon):
    session, transport = await make_session(salon, sid="CAstream")
    await session.handle_prompt("a haircut on Tuesday at 3:30 p.m. please")
    await session.wait_for_answer()
    texts = [f for f in transport.frames if f[0] == "text"]
    assert [f[2] for f in texts] == [False] * (len(texts) - 1) + [True]
    assert len(texts) >= 3
    assert transport.heard() == "You said: a haircut on Tuesday at 3:30 p.m. please. Anything else?"
    await session.close()
    assert await transcript("CAstream") == [
        ("receptionist", salon.welcome_greeting, False),
        ("caller", "a haircut on Tuesday at 3:30 p.m. please", False),
        (
            "receptionist",
            "You said: a haircut on Tuesday at 3:30 p.m. please. Anything else?",
            False,
        ),
    ]


async def test_engine_that_raises_gets_an_apology_and_an_event(salon):
    session, transport = await make_session(salon, sid="CAboom")
    await session.handle_prompt("explode")
    assert await transport.next_answer() == "Let me see. " + APOLOGY
    await session.handle_prompt("still there?")
    assert await transport.next_answer() == "You said: still there?. Anything else?"
    assert event_names(await call_row("CAboom")) == ["engine_error"]
    assert not session.ended
    await session.close()


async def test_engine_that_hangs_times_out_with_an_apology(salon, settings):
    settings.CALL_TURN_TIMEOUT_SECONDS = 0.2
    session, transport = await make_session(salon, sid="CAhang")
    await session.handle_prompt("hang on")
    assert await transport.next_answer() == APOLOGY
    assert event_names(await call_row("CAhang")) == ["turn_timeout"]
    await session.handle_prompt("hello")
    assert await transport.next_answer() == "You said: hello. Anything else?"
    await session.close()


async def test_goodbye_ends_the_call_and_later_prompts_are_ignored(salon):
    session, transport = await make_session(salon, sid="CAbye")
    await session.handle_prompt("ok bye")
    assert await transport.next_answer() == "Thanks for calling. Goodbye!"
    await asyncio.wait_for(transport.ended.wait(), 5)
    assert transport.handoffs == [{"reason": "goodbye"}]
    await session.handle_prompt("wait, one more thing")
    await session.wait_for_answer()
    assert transport.heard() == ""
    await session.close()
    call = await call_row("CAbye")
    assert call.ended_at is not None
    assert (await transcript("CAbye"))[-2:] == [
        ("receptionist", "Thanks for calling. Goodbye!", False),
        ("system", "Call ended (goodbye).", False),
    ]


async def test_transfer_is_handed_off_and_recorded(salon):
    session, transport = await make_session(salon, sid="CAperson")
    await session.handle_prompt("a person please")
    await asyncio.wait_for(transport.ended.wait(), 5)
    await session.wait_for_answer()
    assert transport.handoffs == [{"reason": "transfer", "transferTo": "+15555550999"}]
    call = await call_row("CAperson")
    assert (call.outcome, call.handoff_to) == ("transferred", "+15555550999")
    assert call.ended_at is not None
    await session.close()
    assert (await call_row("CAperson")).outcome == "transferred"


# -- Interruptions -------------------------------------------------------------------------


async def test_interrupt_stops_the_answer_and_keeps_what_was_heard(salon):
    session, transport = await make_session(salon, sid="CAint")
    await session.handle_prompt("tell me a story")
    while len(transport.frames) < 3:
        await asyncio.sleep(0.01)
    await session.handle_interrupt("This is sentence number 1")
    sent = len(transport.frames)
    await asyncio.sleep(0.1)
    assert len(transport.frames) == sent  # nothing more after the interrupt
    assert not any(f[2] for f in transport.frames)  # and no closing token either
    assert session.engine.heard_log == ["This is sentence number 1"]
    await session.close()
    assert (await transcript("CAint"))[-1] == (
        "receptionist",
        "This is sentence number 1",
        True,
    )


async def test_interrupt_after_the_answer_was_sent_cuts_the_recorded_turn(salon):
    session, transport = await make_session(salon, sid="CAlate")
    await session.handle_prompt("a haircut")
    await transport.next_answer()
    await session.handle_interrupt("You said")
    await session.handle_prompt("tomorrow")
    await transport.next_answer()
    await session.close()
    assert (await transcript("CAlate"))[1:4] == [
        ("caller", "a haircut", False),
        ("receptionist", "You said", True),
        ("caller", "tomorrow", False),
    ]


async def test_interrupting_the_greeting_records_what_was_heard_of_it(salon):
    session, _ = await make_session(salon, sid="CAgreet")
    await session.handle_interrupt("Hello, thanks")
    await session.close()
    assert await transcript("CAgreet") == [("receptionist", "Hello, thanks", True)]


async def test_new_prompt_while_streaming_replaces_the_answer(salon):
    session, transport = await make_session(salon, sid="CAover")
    await session.handle_prompt("tell me a story")
    while len(transport.frames) < 2:
        await asyncio.sleep(0.01)
    await session.handle_prompt("stop")
    await session.wait_for_answer()
    assert transport.heard().endswith("You said: stop. Anything else?")
    await session.close()
    rows = await transcript("CAover")
    assert [r[0] for r in rows] == [
        "receptionist",
        "caller",
        "receptionist",
        "caller",
        "receptionist",
    ]
    _speaker, cut, interrupted = rows[2]
    assert interrupted and cut.startswith("This is sentence number 1")
    assert "40" not in cut


# -- Keypad --------------------------------------------------------------------------------


async def test_digits_are_collected_until_hash(salon):
    session, transport = await make_session(salon, sid="CAdtmf")
    for digit in "42#":
        await session.handle_dtmf(digit)
    assert await transport.next_answer() == "You said: digits 42. Anything else?"
    assert session.engine.digits_log == ["42"]
    await session.close()
    assert ("caller", "(keypad) 42", False) in await transcript("CAdtmf")


async def test_a_lone_zero_is_sent_after_a_pause(salon, settings):
    settings.CALL_DTMF_PAUSE_SECONDS = 0.05
    session, transport = await make_session(salon, sid="CAzero")
    await session.handle_dtmf("0")
    assert await transport.next_answer() == "You said: digits 0. Anything else?"
    await session.handle_dtmf("x")  # not a key: ignored
    assert session.engine.digits_log == ["0"]
    await session.close()


# -- Limits --------------------------------------------------------------------------------


async def test_too_many_turns_wrap_up_the_call(salon, settings):
    settings.CALL_MAX_TURNS = 2
    session, transport = await make_session(salon, sid="CAturns")
    for words in ("one", "two"):
        await session.handle_prompt(words)
        await transport.next_answer()
    await session.handle_prompt("three")
    assert "put you through" in await transport.next_answer()
    await asyncio.wait_for(transport.ended.wait(), 5)
    assert transport.handoffs == [{"reason": "limit", "transferTo": "+15555550999"}]
    await session.wait_for_answer()
    call = await call_row("CAturns")
    assert "limit" in event_names(call)
    assert call.handoff_to == "+15555550999"
    await session.close()


async def test_a_call_that_runs_too_long_is_wrapped_up(salon, settings):
    settings.CALL_MAX_SECONDS = 0.3
    session, transport = await make_session(salon, sid="CAlong")
    await session.handle_prompt("tell me a story")
    await asyncio.wait_for(transport.ended.wait(), 5)
    assert transport.heard().endswith(
        "I'm sorry, I'll put you through to a member of the team now."
    )
    await session.wait_for_answer()
    call = await call_row("CAlong")
    assert [e["detail"] for e in call.events if e["event"] == "limit"] == [
        "Reached the maximum call length of 0.3 s"
    ]
    await session.close()
    rows = await transcript("CAlong")
    assert [r[2] for r in rows if r[0] == "receptionist"] == [False, True, False]


# -- Closing -------------------------------------------------------------------------------


async def test_hanging_up_marks_the_call_abandoned(salon):
    session, _transport = await make_session(salon, sid="CAgone")
    await session.handle_prompt("tell me a story")
    await asyncio.sleep(0.05)
    await session.close()
    call = await call_row("CAgone")
    assert call.outcome == "abandoned"
    assert call.ended_at is not None
    assert (await transcript("CAgone"))[-1][2] is True  # cut off mid-answer


async def test_the_engines_outcome_and_events_are_persisted(salon):
    session, transport = await make_session(salon, sid="CAbooked")
    await session.handle_prompt("note that I booked")
    await transport.next_answer()
    await session.close()
    await session.close()  # twice is harmless
    call = await call_row("CAbooked")
    assert call.outcome == "booked"
    assert event_names(call) == ["note"]


async def test_without_an_engine_key_the_registry_default_answers(salon):
    transport = MemoryTransport()
    session = CallSession(business_slug=salon.slug, call_sid="CAdefault", transport=transport)
    assert await session.start(caller_number="anonymous")
    assert session.engine.context.caller_number == ""
    await session.handle_prompt("hello")
    assert await transport.next_answer()
    await session.close()
    assert (await call_row("CAdefault")).engine == registry.DEFAULT_ENGINE


async def test_closing_from_inside_the_transports_end_does_not_stall(salon):
    class ClosingTransport(MemoryTransport):
        async def end(self, handoff_data):
            await super().end(handoff_data)
            await session.close()

    transport = ClosingTransport()
    session = CallSession(
        business_slug=salon.slug, call_sid="CAselfclose", transport=transport, engine_key="scripted"
    )
    await session.start()
    await session.handle_prompt("bye")
    await asyncio.wait_for(session.wait_for_answer(), 10)  # a stall, not a slow machine
    call = await call_row("CAselfclose")
    assert call.ended_at is not None
    assert (await transcript("CAselfclose"))[-1] == ("system", "Call ended (goodbye).", False)


async def test_silence_gets_a_clearer_question_then_a_polite_wrap_up(salon, settings, monkeypatch):
    # ConversationRelay sends nothing while the caller is silent: the session notices.
    settings.CALL_SILENCE_SECONDS = 0.05
    monkeypatch.setattr("calls.call_limits.SPOKEN_WORDS_PER_SECOND", 1000)  # no "speech" time
    transport = MemoryTransport()
    session = CallSession(
        business_slug=salon.slug, call_sid="CAsilent", transport=transport, engine_key="embedded"
    )
    await session.start()
    await session.handle_prompt("I'd like a haircut")
    first = await transport.next_answer()
    assert "What day" in first
    again = await transport.next_answer()  # nobody spoke
    assert again.startswith("Sorry, I didn't catch that.")
    await session.handle_prompt("tomorrow")  # speaking resets the count
    await transport.next_answer()
    await transport.next_answer()
    await transport.next_answer()
    await asyncio.wait_for(transport.ended.wait(), 5)  # the third silence in a row ends it
    assert ("end", {"reason": "limit", "transferTo": "+15555550999"}) in transport.frames
    await session.close()
    turns = await transcript("CAsilent")
    assert ("system", "(silence)", False) in turns


async def test_each_answer_records_how_long_the_caller_waited_for_its_first_words(salon):
    session, _ = await make_session(salon, sid="CAlatency")
    await session.handle_prompt("a haircut please")
    await session.wait_for_answer()
    await session.close()
    turns = await database_sync_to_async(list)(
        CallTurn.objects.filter(call__sid="CAlatency").values_list("speaker", "first_token_ms")
    )
    greeting, caller, answer = turns
    assert greeting == ("receptionist", None)  # spoken by Twilio, not streamed by us
    assert caller == ("caller", None)
    assert answer[0] == "receptionist"
    assert answer[1] is not None and 0 <= answer[1] < 5000
