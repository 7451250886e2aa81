"""One call's conversation, whatever carries it: ConversationRelay, the simulator, a terminal.

The session is the turn loop: it owns the call's lifecycle (start, close, ending), hands each
thing the caller does to the dialogue engine, and streams the engine's answer to the
transport. Each answer runs as its own task so the caller can talk over it (an interrupt, or
simply a new utterance) and the session stays responsive to the socket while the engine
thinks. Two helpers hold the rest: the call's limits and timers (calls/call_limits.py) and
its record, transcript and events (calls/transcript.py). How a call's outcome is settled is
one rule, in calls/services.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol

from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.models import Business
from bookings.orm import run_orm, unique_row
from bookings.phones import to_e164
from bookings.providers.base import BookingProvider
from bookings.providers.registry import resolve_provider
from bookings.slots import Schedule
from calls.call_limits import CallLimits
from calls.dialogue.base import CallContext, DialogueEngine, Ending
from calls.models import Call, CallTurn
from calls.services import (
    RelayClaim,
    approved_transfer_number,
    claim_relay_socket,
    engine_for,
    record_conversation_end,
)
from calls.speech_chunks import SpeechChunker
from calls.staff_alerts import alert_staff_about_call, call_needs_staff
from calls.transcript import Reply, TranscriptRecorder
from calls.understanding.utterance import understood_part

logger = logging.getLogger(__name__)

# How long close() lets an ending in progress finish writing the call's record.
CLOSE_GRACE_SECONDS = 5

APOLOGY = "Sorry, I didn't catch that, could you say it again?"
NOT_READY = "One moment please."
NOT_IN_SERVICE = "Sorry, this number isn't taking calls right now. Please try again later. Goodbye."
OUT_OF_TIME = "I'm sorry, we've run out of time. Please call back. Goodbye."


class Transport(Protocol):
    """Where the session's output goes: ConversationRelay, the simulator socket, a terminal."""

    async def send_text(self, token: str, last: bool) -> None: ...

    async def end(self, handoff_data: dict[str, str]) -> None: ...


class _TransportFailed(Exception):
    """The transport could not deliver: the other side is gone, nobody is listening."""


@dataclass
class _Loaded:
    business: Business
    services: list
    provider: BookingProvider
    call_id: int
    engine_class: type[DialogueEngine]
    has_turns: bool = False
    schedule: Schedule | None = None
    started_at: datetime | None = None  # the Call's


# `CallSession.start` loads the call's context itself unless it is given.
_NOT_LOADED = object()


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
        self.ended = False
        self.engine: DialogueEngine | None = None
        self.business: Business | None = None
        self.started_at: datetime | None = None
        self.transcript = TranscriptRecorder(call_sid)
        self.limits = CallLimits(
            on_time_up=self._time_up, on_silence=self._silence, on_digits=self._digits
        )
        self._closed = False
        self._answer: asyncio.Task | None = None
        self._turn_lock = asyncio.Lock()
        self._provider_warmup: asyncio.Task | None = None
        self._finalizing: asyncio.Task | None = None
        self._outcome_seen: tuple | None = None

    @property
    def call_id(self) -> int | None:
        return self.transcript.call_id

    # -- Lifecycle -------------------------------------------------------------------------

    async def start(
        self,
        *,
        caller_number: str = "",
        to_number: str = "",
        claimed: RelayClaim | None = None,
        loaded: _Loaded | object | None = _NOT_LOADED,
    ) -> bool:
        """Load the business (active), get-or-create the Call (idempotent on sid), build the
        engine via the dialogue registry with a CallContext. Returns False (after saying sorry
        and ending through the transport) when the business is unknown/inactive.

        `claimed`: the Call row this transport has claimed for itself (a ConversationRelay
        socket), which the session then uses as it is: one conversation per claim. `loaded`:
        the call's context as `claim_call` loaded it with the claim (None: no active
        business), so the session does not load it again."""
        if self.engine is not None:
            logger.warning("Call %s: start() called twice; ignored", self.call_sid)
            return True
        fields = {
            "channel": self.channel,
            "from_number": caller_number[:32],
            "to_number": to_number[:32],
        }
        if loaded is _NOT_LOADED:
            loaded = await _load(
                self.business_slug, self.call_sid, fields, self.engine_key, claimed
            )
        if loaded is None:
            await self._refuse()
            return False
        self.business = loaded.business
        self.started_at = loaded.started_at
        self.transcript.call_id = loaded.call_id
        self.greeting = loaded.business.welcome_greeting
        self.engine = loaded.engine_class(
            CallContext(
                call_sid=self.call_sid,
                business=loaded.business,
                services=loaded.services,
                provider=loaded.provider,
                caller_number=_e164_or_blank(caller_number),
                clock=self.clock,
                schedule=loaded.schedule,
            )
        )
        self._achieved_something()  # what the engine starts from is no achievement
        if not loaded.has_turns:
            # The greeting is spoken by the transport (Twilio's welcomeGreeting); it is part
            # of the transcript, and the caller may talk over it like any answer.
            self.transcript.begin_reply(self.greeting)
        self.limits.start()
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
        self.limits.stop()
        warmup = self._provider_warmup
        if warmup is not None and warmup is not asyncio.current_task():
            warmup.cancel()
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
            self.transcript.write_reply()
            await self.transcript.flush()
            await self._finalize()
        except Exception:
            logger.exception("Call %s: could not persist the end of the call", self.call_sid)

    async def wait_for_answer(self) -> None:
        """Until the answer in flight has been sent (for terminals and scripted callers that
        must not talk over it; the sockets never wait)."""
        while (task := self._answer) is not None and not task.done():
            await asyncio.wait({task})

    async def turns_written(self) -> None:
        """Write the transcript's turns so far now (they are otherwise written at the
        transcript's checkpoints: calls/transcript.py)."""
        await self.transcript.flush()

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
        # The transcript keeps what was said; the engine reads what a spoken turn can hold.
        heard = understood_part(text)
        await self._take_turn(text, lambda engine: engine.respond(heard))

    async def handle_dtmf(self, digit: str) -> None:
        """A keypad press. Digits are collected until '#' or a pause, then answered together;
        a lone '0' reaches the engine as "0" (callers press it for a person)."""
        if not self._ready("dtmf"):
            return
        self.limits.caller_spoke()
        if not await self.limits.key(digit):
            logger.warning("Call %s: ignoring DTMF %r", self.call_sid, digit[:8])

    async def handle_interrupt(self, heard: str) -> None:
        """Stop the answer in flight; the recorded receptionist turn keeps only `heard`
        (interrupted=True); engine.heard(heard)."""
        if not self._ready("interrupt"):
            return
        self.limits.caller_spoke()
        async with self._turn_lock:
            if self._answer is not None and not self._answer.done():
                await self._stop_answer(record_heard=heard)
                return
            reply = self.transcript.take_reply()
            if reply is None:
                return
            self.transcript.cut_reply(reply, heard.strip())
            self._engine_heard(heard)

    async def handle_error(self, description: str) -> None:
        """An error the transport reported (e.g. Twilio rejected one of our messages)."""
        logger.warning("Call %s: transport error: %s", self.call_sid, description[:300])
        await self.transcript.add_events([("transport_error", description[:500])])

    # -- What the limits report ---------------------------------------------------------------

    async def _time_up(self, seconds: float) -> None:
        async with self._turn_lock:
            if self.ended or self._closed:
                return
            await self._stop_answer(record_heard=None)
            self.transcript.write_reply()
            detail = f"Reached the maximum call length of {seconds} s"
            self._answer = asyncio.create_task(self._wrap_up("time", detail))

    async def _silence(self, last_straw: bool) -> None:
        if last_straw:
            # wrap_up sets the engine's ending: the call ends after these words.
            await self._take_turn(
                "(silence)", lambda engine: _once(engine.wrap_up("silence")), silent=True
            )
            return
        # The engine treats an empty utterance as "didn't catch that" and asks more clearly.
        await self._take_turn("(silence)", lambda engine: engine.respond(""), silent=True)

    async def _digits(self, digits: str) -> None:
        if self.ended or self._closed:
            return
        await self._take_turn(f"(keypad) {digits}", lambda engine: engine.respond_to_digits(digits))

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
        if silent:
            self.limits.cancel_silence()
        else:
            self.limits.caller_spoke()
        async with self._turn_lock:
            if self.ended or self._closed:
                return
            # Talking over an answer still streaming interrupts it where we are.
            await self._stop_answer(record_heard=None)
            self.transcript.write_reply()
            speaker = CallTurn.Speaker.SYSTEM if silent else CallTurn.Speaker.CALLER
            self.transcript.record(speaker, said, timezone.now())
            too_many = self.limits.count_turn()
            if too_many:
                self._answer = asyncio.create_task(self._wrap_up("turns", too_many))
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
        reply = self.transcript.take_reply()
        if reply is None:
            return
        heard = reply.text if record_heard is None else record_heard.strip()
        self.transcript.cut_reply(reply, heard)
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
        reply = self.transcript.begin_reply()
        chunker = SpeechChunker()
        pieces: AsyncIterator[str] | None = None
        timeout = self.limits.turn_timeout
        try:
            try:
                async with asyncio.timeout(timeout):
                    pieces = _once(answer) if isinstance(answer, str) else answer()
                    async for piece in pieces:
                        for token in chunker.feed(piece):
                            await self._send(reply, token, last=False)
                    for token in chunker.flush():
                        await self._send(reply, token, last=False)
                # Before the turn closes (only when the engine noted something, e.g. a
                # fallback): whoever looks at the call after this answer sees it.
                await self.transcript.save_engine_events(self.engine.state.events)
                await self._send(reply, "", last=True)
            except TimeoutError:
                logger.error("Call %s: the engine took over %s s to answer", self.call_sid, timeout)
                await self.transcript.add_events(
                    [("turn_timeout", f"No answer within {timeout} s")]
                )
                await self._apologize(reply)
                return
            except (_TransportFailed, asyncio.CancelledError):
                raise
            except Exception as exc:
                logger.exception("Call %s: the engine raised while answering", self.call_sid)
                await self.transcript.add_events(
                    [("engine_error", f"{type(exc).__name__}: {exc}"[:500])]
                )
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
            self.limits.answer_spoken(reply.text)
            await self.transcript.checkpoint(achieved_something=self._achieved_something())

    def _achieved_something(self) -> bool:
        """Whether the conversation's outcome (a booking, a move, a cancellation, a message)
        changed since the last answer."""
        state = self.engine.state
        outcome = (state.outcome, state.booking_id, state.message)
        changed, self._outcome_seen = outcome != self._outcome_seen, outcome
        return changed

    async def _apologize(self, reply: Reply) -> None:
        """Never silence: whatever went wrong, the caller hears something and can go on."""
        await self._send(reply, (" " if reply.tokens else "") + APOLOGY, last=True)

    async def _send(self, reply: Reply, token: str, *, last: bool) -> None:
        try:
            await self.transport.send_text(token, last)
        except Exception as exc:
            raise _TransportFailed from exc
        if token:
            reply.sent(token)

    async def _wrap_up(self, why: str, detail: str) -> None:
        logger.info("Call %s: %s", self.call_sid, detail)
        await self.transcript.add_events([("limit", detail)])
        try:
            words = self.engine.wrap_up(why)
        except Exception:
            logger.exception("Call %s: engine.wrap_up raised", self.call_sid)
            words = OUT_OF_TIME
        await self._speak(words, wrap_up=True)

    async def _end(self, ending: Ending) -> None:
        """The answer has been sent and the engine wants the call over."""
        self.ended = True
        self.limits.stop()
        handoff = ending.handoff_data()
        try:
            await self.transport.end(handoff)
        except Exception:
            logger.warning("Call %s: could not send the end of the call", self.call_sid)
        self.transcript.write_reply()
        self.transcript.record(
            CallTurn.Speaker.SYSTEM, f"Call ended ({ending.reason}).", timezone.now()
        )
        # The record is complete once the call has ended: the turns are written with the
        # outcome, in one trip; whatever the outcome's writing did not take (a transport
        # that closed the session from its end() persisted it already) right after.
        await self._finalize(handoff)
        await self.transcript.flush()

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

    # -- The outcome -------------------------------------------------------------------------

    def _finalize(self, handoff: dict[str, str] | None = None) -> asyncio.Future:
        """Persist the outcome once, shielded: a socket closing mid-write must not lose it."""
        if self._finalizing is None:
            self._finalizing = asyncio.ensure_future(self._persist_outcome(handoff))
        return asyncio.shield(self._finalizing)

    async def _persist_outcome(self, handoff: dict[str, str] | None) -> None:
        state = self.engine.state
        handoff_to = approved_transfer_number(self.business, handoff) if handoff else ""
        # The turns not written yet first, in the same trip to the database.
        await self.transcript.flush_then(
            partial(
                record_conversation_end,
                call_id=self.call_id,
                achieved=state.outcome,
                booking_id=state.booking_id,
                message=state.message,
                handoff_to=handoff_to,
                events=self.transcript.unsaved_engine_events(state.events),
                business=self.business,
                started_at=self.started_at,
            )
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


async def _prepare_provider(provider: BookingProvider, session: CallSession) -> None:
    try:
        await provider.prepare_for_call()
    except Exception:
        # Preparation only saves time later; the provider checks live when it must.
        logger.exception("Call %s: the booking provider's preparation failed", session.call_sid)


# -- ORM helpers (each runs in a worker thread) ---------------------------------------------


def claim_call(*, business_slug: str, call_sid: str) -> tuple[RelayClaim, _Loaded | None] | None:
    """A ConversationRelay socket's claim on its call (calls.services.claim_relay_socket)
    and, when it got it, the call's context for `CallSession.start`, in one trip to the
    database's thread (run it with run_orm). None: the socket may not have the call."""
    claim = claim_relay_socket(business_slug=business_slug, call_sid=call_sid)
    if claim is None:
        return None
    return claim, load_context(business_slug, call_sid, {}, None, claim)


def load_context(
    slug: str,
    call_sid: str,
    fields: dict[str, str],
    engine_key: str | None,
    claimed: RelayClaim | None,
) -> _Loaded | None:
    """The call's context, once per call: the business (with its engine choice), its
    services and schedule (this process's copy while current: bookings.schedules), its
    provider, and the Call row."""
    business = unique_row(
        Business.objects.filter(slug=slug, is_active=True).select_related("receptionist_settings")
    )
    if business is None:
        return None
    services = business.active_services()
    schedule = business.schedule()  # loaded with the services: no query of its own
    provider = resolve_provider(business)
    engine_class = engine_for(business, engine_key)
    if claimed is not None:
        # The webhook's row, claimed by this socket (so no conversation has been on it yet),
        # with the engine the webhook chose; written again only if admin changed it since.
        if claimed.engine != engine_class.name:
            Call.objects.filter(pk=claimed.call_id).update(engine=engine_class.name)
        return _Loaded(
            business=business,
            services=services,
            provider=provider,
            call_id=claimed.call_id,
            engine_class=engine_class,
            schedule=schedule,
            started_at=claimed.started_at,
        )
    fields = {**fields, "engine": engine_class.name}
    # With whether it has turns yet (a reconnect), in the same query.
    call, created = Call.objects.annotate(
        has_turns=Exists(CallTurn.objects.filter(call=OuterRef("pk")))
    ).get_or_create(sid=call_sid, defaults={"business": business, **fields})
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
    return _Loaded(
        business=business,
        services=services,
        provider=provider,
        call_id=call.pk,
        engine_class=engine_class,
        has_turns=not created and call.has_turns,
        schedule=schedule,
        started_at=call.started_at,
    )


_load = run_orm(load_context)
