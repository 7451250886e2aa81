"""One call's conversation, whatever carries it: ConversationRelay, the simulator, a terminal.

The session owns the call's lifecycle and its record; the dialogue engine owns what is said;
the transport only delivers text. Each answer runs as its own task so the caller can talk
over it (an interrupt, or simply a new utterance) and the session stays responsive to the
socket while the engine thinks.

Why the receptionist's turn is written late: Twilio speaks our text after we have finished
streaming it, so the caller usually interrupts an answer we already consider done. Turns are
insert-only, so the answer waits (with its own timestamp) until the next thing happens on the
call: an interrupt cuts it to what was heard, anything else writes it whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.models import Business
from bookings.orm import run_orm
from bookings.phones import to_e164
from bookings.providers.base import BookingProvider
from bookings.providers.registry import resolve_provider
from calls.dialogue import registry
from calls.dialogue.base import CallContext, DialogueEngine, Ending
from calls.models import Call, CallTurn, ReceptionistSettings
from calls.services import approved_transfer_number
from calls.speech_chunks import SpeechChunker
from calls.staff_alerts import alert_staff_about_call, call_needs_staff

logger = logging.getLogger(__name__)

# The call's limits are settings (CALL_MAX_SECONDS, CALL_MAX_TURNS, ...: receptionist/settings.py).
MAX_SILENCES = 3  # in a row, then the call is wrapped up
SPOKEN_WORDS_PER_SECOND = 2.5  # to estimate when text-to-speech has finished

# How long close() lets an ending in progress finish writing the call's record.
CLOSE_GRACE_SECONDS = 5

DTMF_DIGITS = frozenset("0123456789*#ABCD")

APOLOGY = "Sorry, I didn't catch that, could you say it again?"
NOT_READY = "One moment please."
NOT_IN_SERVICE = "Sorry, this number isn't taking calls right now. Please try again later. Goodbye."


def default_engine_key() -> str | None:
    """The engine for sessions that name none (ops may pin one; None: the registry's default)."""
    return settings.CALL_DIALOGUE_ENGINE


def max_call_seconds() -> float:
    return settings.CALL_MAX_SECONDS


def silence_seconds() -> float:
    return settings.CALL_SILENCE_SECONDS


def max_turns() -> int:
    return settings.CALL_MAX_TURNS


def turn_timeout_seconds() -> float:
    return settings.CALL_TURN_TIMEOUT_SECONDS


def dtmf_pause_seconds() -> float:
    return settings.CALL_DTMF_PAUSE_SECONDS


class Transport(Protocol):
    """Where the session's output goes: ConversationRelay, the simulator socket, a terminal."""

    async def send_text(self, token: str, last: bool) -> None: ...

    async def end(self, handoff_data: dict[str, str]) -> None: ...


class _TransportFailed(Exception):
    """The transport could not deliver: the other side is gone, nobody is listening."""


@dataclass
class _Reply:
    """An answer as far as it was sent, waiting to be written as a receptionist turn."""

    at: datetime
    tokens: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # How long the caller waited for the first words of this answer (the dashboard's
    # first-token latency); None until a token went out.
    first_token_ms: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.tokens).strip()


@dataclass
class _Loaded:
    business: Business
    services: list
    provider: BookingProvider
    call: Call
    engine_class: type[DialogueEngine]
    has_turns: bool = False


class CallSession:
    def __init__(
        self,
        *,
        business_slug: str,
        call_sid: str,
        transport: Transport,
        channel: str = Call.Channel.PHONE,
        engine_key: str | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.business_slug = business_slug
        self.call_sid = call_sid
        self.transport = transport
        self.channel = channel
        self.engine_key = engine_key
        self.clock = clock
        self.greeting = ""
        self.call_id: int | None = None
        self.ended = False
        self.engine: DialogueEngine | None = None
        self.business: Business | None = None
        self._turns = 0
        self._closed = False
        self._answer: asyncio.Task | None = None
        self._pending_turns: list[CallTurn] = []
        self._turn_writer: asyncio.Future | None = None
        self._reply: _Reply | None = None  # the last answer, not yet written
        self._turn_lock = asyncio.Lock()
        self._limit_timer: asyncio.Task | None = None
        self._provider_warmup: asyncio.Task | None = None
        self._dtmf_timer: asyncio.Task | None = None
        self._silence_timer: asyncio.Task | None = None
        self._silences = 0
        self._digits = ""
        self._finalizing: asyncio.Task | None = None
        self._engine_events_saved = 0

    # -- Lifecycle -------------------------------------------------------------------------

    async def start(self, *, caller_number: str = "", to_number: str = "") -> bool:
        """Load the business (active), get-or-create the Call (idempotent on sid), build the
        engine via the dialogue registry with a CallContext. Returns False (after saying sorry
        and ending through the transport) when the business is unknown/inactive."""
        if self.engine is not None:
            logger.warning("Call %s: start() called twice; ignored", self.call_sid)
            return True
        fields = {
            "channel": self.channel,
            "from_number": caller_number[:32],
            "to_number": to_number[:32],
        }
        loaded = await _load(self.business_slug, self.call_sid, fields, self.engine_key)
        if loaded is None:
            await self._refuse()
            return False
        engine_class = loaded.engine_class
        self.business = loaded.business
        self.call_id = loaded.call.pk
        self.greeting = loaded.business.welcome_greeting
        self.engine = engine_class(
            CallContext(
                call_sid=self.call_sid,
                business=loaded.business,
                services=loaded.services,
                provider=loaded.provider,
                caller_number=_e164_or_blank(caller_number),
                clock=self.clock,
            )
        )
        if not loaded.has_turns:
            # The greeting is spoken by the transport (Twilio's welcomeGreeting); it is part
            # of the transcript, and the caller may talk over it like any answer.
            self._reply = _Reply(at=timezone.now(), tokens=[self.greeting])
        self._limit_timer = asyncio.create_task(self._enforce_max_length())
        # E.g. a calendar provider fetches busy times now, so answers don't wait on it.
        self._provider_warmup = asyncio.create_task(_prepare_provider(loaded.provider, self))
        logger.info("Call %s started for %s (%s)", self.call_sid, self.business_slug, self.channel)
        return True

    async def close(self) -> None:
        """Transport closed: cancel work in flight, persist the outcome (abandoned if still in
        progress), ended_at."""
        if self._closed:
            return
        self._closed = True
        current = asyncio.current_task()
        timers = (self._limit_timer, self._dtmf_timer, self._silence_timer, self._provider_warmup)
        for task in timers:
            if task is not None and task is not current:
                task.cancel()
        if self.engine is None:
            return
        answer = self._answer
        if answer is asyncio.current_task():
            pass  # closed from inside the answer (a transport's end()): it finishes itself
        elif self.ended and answer is not None and not answer.done():
            # The goodbye has been sent and is being recorded: let that finish.
            await asyncio.wait({answer}, timeout=CLOSE_GRACE_SECONDS)
        else:
            await self._stop_answer(record_heard=None)
        try:
            await self._write_reply()
            await self.turns_written()
            await self._finalize()
        except Exception:
            logger.exception("Call %s: could not persist the end of the call", self.call_sid)

    async def wait_for_answer(self) -> None:
        """Until the answer in flight has been sent (for terminals and scripted callers that
        must not talk over it; the sockets never wait)."""
        while (task := self._answer) is not None and not task.done():
            await asyncio.wait({task})

    # -- Caller input ----------------------------------------------------------------------

    async def handle_prompt(self, text: str) -> None:
        """A final caller utterance: recorded as a caller turn; the engine's answer is streamed
        to the transport in clause/sentence-sized tokens, the last with last=True; recorded as a
        receptionist turn; if the engine set `ending`, the transport's end() is called.

        Returns once the answer has started: it streams in its own task (see
        `wait_for_answer`), so an interrupt can stop it."""
        if not self._ready("prompt"):
            if self.engine is None and not self.ended:
                await self._say_quietly(NOT_READY)
            return
        if not text.strip():
            logger.debug("Call %s: empty prompt ignored", self.call_sid)
            return
        await self._take_turn(text, lambda engine: engine.respond(text))

    async def handle_dtmf(self, digit: str) -> None:
        """A keypad press. Digits are collected until '#' or a pause, then answered together;
        a lone '0' reaches the engine as "0" (callers press it for a person)."""
        if not self._ready("dtmf"):
            return
        self._silences = 0
        self._cancel_silence_timer()
        if digit not in DTMF_DIGITS:
            logger.warning("Call %s: ignoring DTMF %r", self.call_sid, digit[:8])
            return
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
            self._dtmf_timer = None
        if digit == "#":
            await self._submit_digits()
            return
        self._digits += digit
        self._dtmf_timer = asyncio.create_task(self._digits_after_pause())

    async def handle_interrupt(self, heard: str) -> None:
        """Stop the answer in flight; the recorded receptionist turn keeps only `heard`
        (interrupted=True); engine.heard(heard)."""
        if not self._ready("interrupt"):
            return
        self._silences = 0
        self._cancel_silence_timer()
        async with self._turn_lock:
            if self._answer is not None and not self._answer.done():
                await self._stop_answer(record_heard=heard)
                return
            if self._reply is None:
                return
            reply, self._reply = self._reply, None
            if heard.strip():
                await self._insert_turn(
                    CallTurn.Speaker.RECEPTIONIST,
                    heard.strip(),
                    reply.at,
                    interrupted=True,
                    first_token_ms=reply.first_token_ms,
                )
            self._engine_heard(heard)

    async def handle_error(self, description: str) -> None:
        """An error the transport reported (e.g. Twilio rejected one of our messages)."""
        logger.warning("Call %s: transport error: %s", self.call_sid, description[:300])
        if self.call_id is None:
            return
        await self._add_events([("transport_error", description[:500])])

    # -- Turns -------------------------------------------------------------------------------

    def _ready(self, what: str) -> bool:
        if self.engine is None:
            logger.warning("Call %s: %s before the call started", self.call_sid, what)
            return False
        if self.ended or self._closed:
            logger.info("Call %s: %s after the call ended; ignored", self.call_sid, what)
            return False
        return True

    async def _take_turn(
        self,
        said: str,
        answer: Callable[[DialogueEngine], AsyncIterator[str]],
        *,
        silent: bool = False,
    ) -> None:
        if not silent:
            self._silences = 0
        self._cancel_silence_timer()
        async with self._turn_lock:
            if self.ended or self._closed:
                return
            # Talking over an answer still streaming interrupts it where we are.
            await self._stop_answer(record_heard=None)
            await self._write_reply()
            speaker = CallTurn.Speaker.SYSTEM if silent else CallTurn.Speaker.CALLER
            await self._insert_turn(speaker, said, timezone.now())
            if self._closed:
                return  # the caller hung up while we were writing their turn
            self._turns += 1
            if self._turns > max_turns():
                detail = f"Reached the limit of {max_turns()} turns"
                self._answer = asyncio.create_task(self._wrap_up("turns", detail))
                return
            engine = self.engine
            self._answer = asyncio.create_task(self._speak(lambda: answer(engine)))

    async def _stop_answer(self, *, record_heard: str | None) -> None:
        """Cancel the answer in flight. `record_heard`: what the caller heard of it (Twilio
        says); None means "what we had sent"."""
        task = self._answer
        if task is None or task.done():
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise  # we are being cancelled ourselves, not just the answer
        except Exception:
            logger.exception("Call %s: answer failed while stopping", self.call_sid)
        reply, self._reply = self._reply, None
        if reply is None:
            return
        heard = reply.text if record_heard is None else record_heard.strip()
        if heard:
            await self._insert_turn(
                CallTurn.Speaker.RECEPTIONIST,
                heard,
                reply.at,
                interrupted=True,
                first_token_ms=reply.first_token_ms,
            )
        self._engine_heard(heard)

    def _engine_heard(self, heard: str) -> None:
        try:
            self.engine.heard(heard)
        except Exception:
            logger.exception("Call %s: engine.heard raised", self.call_sid)

    async def _speak(
        self, answer: Callable[[], AsyncIterator[str]] | str, *, wrap_up: bool = False
    ) -> None:
        """Stream one answer; then end the call if the engine (or a limit) says so."""
        reply = self._reply = _Reply(at=timezone.now())
        chunker = SpeechChunker()
        pieces: AsyncIterator[str] | None = None
        try:
            try:
                async with asyncio.timeout(turn_timeout_seconds()):
                    pieces = _once(answer) if isinstance(answer, str) else answer()
                    async for piece in pieces:
                        for token in chunker.feed(piece):
                            await self._send(reply, token, last=False)
                    for token in chunker.flush():
                        await self._send(reply, token, last=False)
                # Before the turn closes (only when the engine noted something, e.g. a
                # fallback): whoever looks at the call after this answer sees it.
                await self._save_engine_events()
                await self._send(reply, "", last=True)
            except TimeoutError:
                logger.error(
                    "Call %s: the engine took over %s s to answer",
                    self.call_sid,
                    turn_timeout_seconds(),
                )
                await self._add_events(
                    [("turn_timeout", f"No answer within {turn_timeout_seconds()} s")]
                )
                await self._apologize(reply)
                return
            except (_TransportFailed, asyncio.CancelledError):
                raise
            except Exception as exc:
                logger.exception("Call %s: the engine raised while answering", self.call_sid)
                await self._add_events([("engine_error", f"{type(exc).__name__}: {exc}"[:500])])
                await self._apologize(reply)
                return
            finally:
                await _close_quietly(pieces)
        except _TransportFailed:
            logger.warning("Call %s: transport gone mid-answer", self.call_sid, exc_info=True)
            return
        if wrap_up and self.engine.ending is None:
            self.engine.ending = Ending(reason="limit")
        if self.engine.ending is not None:
            await self._end(self.engine.ending)
        else:
            self._arm_silence_timer(reply.text)

    # -- Silence: ConversationRelay sends nothing when the caller says nothing -------------

    def _arm_silence_timer(self, spoken: str) -> None:
        self._cancel_silence_timer()
        delay = silence_seconds() + len(spoken.split()) / SPOKEN_WORDS_PER_SECOND
        self._silence_timer = asyncio.create_task(self._after_silence(delay))

    def _cancel_silence_timer(self) -> None:
        timer = self._silence_timer
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        self._silence_timer = None

    async def _after_silence(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._silence_timer = None
        self._silences += 1
        if self._silences >= MAX_SILENCES:
            # wrap_up sets the engine's ending: the call ends after these words.
            await self._take_turn(
                "(silence)", lambda engine: _once(engine.wrap_up("silence")), silent=True
            )
            return
        # The engine treats an empty utterance as "didn't catch that" and asks more clearly.
        await self._take_turn("(silence)", lambda engine: engine.respond(""), silent=True)

    async def _apologize(self, reply: _Reply) -> None:
        """Never silence: whatever went wrong, the caller hears something and can go on."""
        await self._send(reply, (" " if reply.tokens else "") + APOLOGY, last=True)

    async def _send(self, reply: _Reply, token: str, *, last: bool) -> None:
        try:
            await self.transport.send_text(token, last)
        except Exception as exc:
            raise _TransportFailed from exc
        if token:
            if reply.first_token_ms is None:
                reply.first_token_ms = round((time.monotonic() - reply.started) * 1000)
            reply.tokens.append(token)

    async def _wrap_up(self, why: str, detail: str) -> None:
        logger.info("Call %s: %s", self.call_sid, detail)
        await self._add_events([("limit", detail)])
        try:
            words = self.engine.wrap_up(why)
        except Exception:
            logger.exception("Call %s: engine.wrap_up raised", self.call_sid)
            words = "I'm sorry, we've run out of time. Please call back. Goodbye."
        await self._speak(words, wrap_up=True)

    async def _end(self, ending: Ending) -> None:
        """The answer has been sent and the engine wants the call over."""
        self.ended = True
        for task in (self._limit_timer, self._dtmf_timer, self._silence_timer):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        handoff = ending.handoff_data()
        try:
            await self.transport.end(handoff)
        except Exception:
            logger.warning("Call %s: could not send the end of the call", self.call_sid)
        await self._write_reply()
        await self._insert_turn(
            CallTurn.Speaker.SYSTEM, f"Call ended ({ending.reason}).", timezone.now()
        )
        await self.turns_written()  # the record is complete once the call has ended
        await self._finalize(handoff)

    # -- Keypad ------------------------------------------------------------------------------

    async def _digits_after_pause(self) -> None:
        await asyncio.sleep(dtmf_pause_seconds())
        self._dtmf_timer = None
        await self._submit_digits()

    async def _submit_digits(self) -> None:
        digits, self._digits = self._digits, ""
        if not digits or self.ended or self._closed:
            return
        await self._take_turn(f"(keypad) {digits}", lambda engine: engine.respond_to_digits(digits))

    # -- Limits ------------------------------------------------------------------------------

    async def _enforce_max_length(self) -> None:
        seconds = max_call_seconds()
        await asyncio.sleep(seconds)
        async with self._turn_lock:
            if self.ended or self._closed:
                return
            await self._stop_answer(record_heard=None)
            await self._write_reply()
            detail = f"Reached the maximum call length of {seconds} s"
            self._answer = asyncio.create_task(self._wrap_up("time", detail))

    # -- Saying things outside a turn --------------------------------------------------------

    async def _say_quietly(self, words: str) -> None:
        try:
            await self.transport.send_text(words, True)
        except Exception:
            logger.warning("Call %s: could not say %r", self.call_sid, words)

    async def _refuse(self) -> None:
        logger.warning(
            "Call %s: unknown or inactive business %r", self.call_sid, self.business_slug
        )
        self.ended = True
        await self._say_quietly(NOT_IN_SERVICE)
        try:
            await self.transport.end({"reason": "unavailable"})
        except Exception:
            logger.warning("Call %s: could not end the refused call", self.call_sid)

    # -- The record --------------------------------------------------------------------------

    async def _write_reply(self) -> None:
        reply, self._reply = self._reply, None
        if reply is not None and reply.text:
            await self._insert_turn(
                CallTurn.Speaker.RECEPTIONIST,
                reply.text,
                reply.at,
                first_token_ms=reply.first_token_ms,
            )

    async def _insert_turn(
        self,
        speaker: str,
        text: str,
        at: datetime,
        *,
        interrupted: bool = False,
        first_token_ms: int | None = None,
    ) -> None:
        """Queue a transcript turn. One background writer per call inserts them in order, in
        batches: the caller's answer never waits for the transcript."""
        if self.call_id is None:
            return
        self._pending_turns.append(
            CallTurn(
                call_id=self.call_id,
                speaker=speaker,
                text=text,
                at=at,
                interrupted=interrupted,
                first_token_ms=first_token_ms,
            )
        )
        if self._turn_writer is None or self._turn_writer.done():
            self._turn_writer = asyncio.ensure_future(self._write_turns())

    async def _write_turns(self) -> None:
        while self._pending_turns:
            batch, self._pending_turns = self._pending_turns, []
            try:
                await _insert_turns(batch)
            except Exception:
                logger.exception("Call %s: could not record %d turn(s)", self.call_sid, len(batch))

    async def turns_written(self) -> None:
        """Until every queued transcript turn is in the database."""
        while self._turn_writer is not None and not self._turn_writer.done():
            await asyncio.shield(self._turn_writer)

    async def _add_events(self, events: list[tuple[str, str]]) -> None:
        if self.call_id is None or not events:
            return
        try:
            await _append_events(self.call_id, events)
        except Exception:
            logger.exception("Call %s: could not record events %s", self.call_sid, events)

    async def _save_engine_events(self) -> None:
        """What the engine noted for staff (e.g. a fallback) is kept as it happens, not only
        when the call ends: a process that dies mid-call must not lose it."""
        events = self.engine.state.events
        if len(events) > self._engine_events_saved:
            new = list(events[self._engine_events_saved :])
            self._engine_events_saved = len(events)
            # Shielded: the caller talking over this answer must not lose the record.
            await asyncio.shield(self._add_events(new))

    def _finalize(self, handoff: dict[str, str] | None = None) -> asyncio.Future:
        """Persist the outcome once, shielded: a socket closing mid-write must not lose it."""
        if self._finalizing is None:
            self._finalizing = asyncio.ensure_future(self._persist_outcome(handoff))
        return asyncio.shield(self._finalizing)

    async def _persist_outcome(self, handoff: dict[str, str] | None) -> None:
        state = self.engine.state
        engine_events = state.events[self._engine_events_saved :]
        self._engine_events_saved = len(state.events)
        handoff_to = approved_transfer_number(self.business, handoff) if handoff else ""
        await _save_outcome(
            self.call_id,
            outcome=state.outcome,
            booking_id=state.booking_id,
            message=state.message,
            handoff_to=handoff_to,
            events=list(engine_events),
        )
        if call_needs_staff(message=state.message, events=state.events):
            try:
                await run_orm(alert_staff_about_call)(call_id=self.call_id)
            except Exception:
                # The call's record is safe; staff still see it in admin.
                logger.exception("Call %s: could not queue the staff notices", self.call_sid)


def _e164_or_blank(number: str) -> str:
    """Caller ID as E.164, or "" when withheld or not a phone number ("anonymous", a client)."""
    return (to_e164(number) if number else None) or ""


async def _once(text: str) -> AsyncIterator[str]:
    yield text


async def _close_quietly(pieces: object) -> None:
    aclose = getattr(pieces, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        logger.debug("Closing an engine's answer raised", exc_info=True)


# -- ORM helpers (each runs in a worker thread) ---------------------------------------------


async def _prepare_provider(provider: BookingProvider, session: CallSession) -> None:
    try:
        await provider.prepare_for_call()
    except Exception:
        # Preparation only saves time later; the provider checks live when it must.
        logger.exception("Call %s: the booking provider's preparation failed", session.call_sid)


@run_orm
def _load(
    slug: str, call_sid: str, fields: dict[str, str], engine_key: str | None
) -> _Loaded | None:
    business = (
        Business.objects.filter(slug=slug, is_active=True)
        .select_related("receptionist_settings")
        .first()
    )
    if business is None:
        return None
    services = list(business.services.filter(is_active=True))
    provider = resolve_provider(business)
    engine_class = registry.engine_class(engine_key or _business_engine(business))
    fields = {**fields, "engine": engine_class.name}
    call, created = Call.objects.get_or_create(
        sid=call_sid, defaults={"business": business, **fields}
    )
    if call.business_id != business.pk:
        logger.error("Call %s belongs to another business than %r", call_sid, slug)
        return None
    if not created:
        # The voice webhook made the row; fill in what only the session knows.
        missing = [name for name, value in fields.items() if value and not getattr(call, name)]
        for name in missing:
            setattr(call, name, fields[name])
        if missing:
            call.save(update_fields=missing)
    has_turns = not created and call.turns.exists()
    return _Loaded(
        business=business,
        services=services,
        provider=provider,
        call=call,
        engine_class=engine_class,
        has_turns=has_turns,
    )


def _business_engine(business: Business) -> str | None:
    """The business's choice in admin; else the CALL_DIALOGUE_ENGINE setting; else default."""
    try:
        return business.receptionist_settings.engine
    except ReceptionistSettings.DoesNotExist:
        return default_engine_key()


# Transcript turns of all the calls on one event loop are inserted together: turns queued
# while an insert waits for (or runs on) the ORM thread go in the next one. Under load that
# is one ORM hop for many calls' turns rather than one per turn. The linger lets the answer
# that follows a caller's turn reach the ORM thread before the turn's insert does.
TURN_INSERT_LINGER_SECONDS = 0.005


class _TurnInserts:
    def __init__(self) -> None:
        self._queued: list[tuple[list[CallTurn], asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def insert(self, turns: list[CallTurn]) -> None:
        written = asyncio.get_running_loop().create_future()
        self._queued.append((turns, written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        await written

    async def _write(self) -> None:
        queued: list[tuple[list[CallTurn], asyncio.Future]] = []
        try:
            await asyncio.sleep(TURN_INSERT_LINGER_SECONDS)
            while self._queued:
                queued, self._queued = self._queued, []
                try:
                    failures = await _bulk_insert_turns([turns for turns, _ in queued])
                except Exception as exc:
                    failures = [exc] * len(queued)
                for (_, written), failure in zip(queued, failures, strict=True):
                    _settle(written, failure)
                queued = []
        finally:
            # Only when cancelled (the loop is shutting down): the waiters hear it.
            for _, written in [*queued, *self._queued]:
                _settle(written, RuntimeError("Turn not written: the event loop stopped."))
            self._queued = []


def _settle(written: asyncio.Future, failure: Exception | None) -> None:
    if written.done():
        return  # its waiter was cancelled
    if failure is None:
        written.set_result(None)
    else:
        written.set_exception(failure)


_turn_inserts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _TurnInserts] = (
    weakref.WeakKeyDictionary()
)


async def _insert_turns(turns: list[CallTurn]) -> None:
    loop = asyncio.get_running_loop()
    inserts = _turn_inserts.get(loop)
    if inserts is None:
        inserts = _turn_inserts[loop] = _TurnInserts()
    await inserts.insert(turns)


@run_orm
def _bulk_insert_turns(batches: list[list[CallTurn]]) -> list[Exception | None]:
    """Every call's turns in one statement; if that fails, call by call, so that one call's
    problem (e.g. its row deleted) stays that call's."""
    try:
        CallTurn.objects.bulk_create([turn for turns in batches for turn in turns])
        return [None] * len(batches)
    except DatabaseError:
        if len(batches) == 1:
            raise
    failures: list[Exception | None] = []
    for turns in batches:
        try:
            CallTurn.objects.bulk_create(turns)
            failures.append(None)
        except DatabaseError as exc:
            failures.append(exc)
    return failures


def _event(event: str, detail: str) -> dict[str, str]:
    return {"at": timezone.now().isoformat(), "event": event, "detail": detail}


@run_orm
def _append_events(call_id: int, events: list[tuple[str, str]]) -> None:
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        call.events = [*call.events, *(_event(e, d) for e, d in events)]
        call.save(update_fields=["events"])


@run_orm
def _save_outcome(
    call_id: int,
    *,
    outcome: str,
    booking_id: int | None,
    message: str,
    handoff_to: str,
    events: list[tuple[str, str]],
) -> None:
    if not events:
        _save_outcome_without_events(
            call_id, outcome=outcome, booking_id=booking_id, message=message, handoff_to=handoff_to
        )
        return
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if outcome != Call.Outcome.IN_PROGRESS:
            call.outcome = outcome  # the conversation knows best what it achieved
        elif call.outcome == Call.Outcome.IN_PROGRESS:
            # Unsettled: Twilio's session-ended request may still say "transferred".
            call.outcome = Call.Outcome.ABANDONED
        if booking_id is not None:
            call.booking_id = booking_id
        if message:
            call.message = message
        if handoff_to:
            call.handoff_to = handoff_to
        call.ended_at = call.ended_at or timezone.now()
        call.events = [*call.events, *(_event(e, d) for e, d in events)]
        call.save(
            update_fields=["outcome", "booking", "message", "handoff_to", "ended_at", "events"]
        )


def _save_outcome_without_events(
    call_id: int, *, outcome: str, booking_id: int | None, message: str, handoff_to: str
) -> None:
    """The same decisions as _save_outcome's, made by one UPDATE on the row as it is: no
    events to append (nearly every call), so no locked read and transaction around it."""
    fields: dict = {
        "ended_at": Coalesce(F("ended_at"), Value(timezone.now(), output_field=DateTimeField()))
    }
    if outcome != Call.Outcome.IN_PROGRESS:
        fields["outcome"] = outcome
    else:
        fields["outcome"] = Case(
            When(outcome=Call.Outcome.IN_PROGRESS, then=Value(Call.Outcome.ABANDONED)),
            default=F("outcome"),
        )
    if booking_id is not None:
        fields["booking_id"] = booking_id
    if message:
        fields["message"] = message
    if handoff_to:
        fields["handoff_to"] = handoff_to
    if not Call.objects.filter(pk=call_id).update(**fields):
        raise Call.DoesNotExist(f"Call {call_id} no longer exists.")
