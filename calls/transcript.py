"""A call's record as it happens: the transcript's turns and the events staff see.

Why the receptionist's turn is written late: Twilio speaks our text after we have finished
streaming it, so the caller usually interrupts an answer we already consider done. Turns are
insert-only, so the answer waits (with its own timestamp) until the next thing happens on the
call: an interrupt cuts it to what was heard, anything else writes it whole.

Turns are queued in order and inserted by one background writer per call, in batches, so the
caller's answer never waits for the transcript; the turns of all the calls on one event loop
go to the database together.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from bookings.orm import run_orm
from calls.models import CallTurn
from calls.services import append_call_events
from calls.storable_text import storable

logger = logging.getLogger(__name__)


@dataclass
class Reply:
    """An answer as far as it was sent, waiting to be written as a receptionist turn."""

    at: datetime
    tokens: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # How long the caller waited for the first words of this answer (the dashboard's
    # first-token latency); None until a token went out.
    first_token_ms: int | None = None

    def sent(self, token: str) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = round((time.monotonic() - self.started) * 1000)
        self.tokens.append(token)

    @property
    def text(self) -> str:
        return "".join(self.tokens).strip()


class TranscriptRecorder:
    def __init__(self, call_sid: str) -> None:
        self.call_sid = call_sid
        self.call_id: int | None = None  # set once the call's row is known
        self.reply: Reply | None = None  # the last answer, not yet written
        self._pending: list[CallTurn] = []
        self._writer: asyncio.Future | None = None
        self._engine_events_saved = 0

    # -- Turns -------------------------------------------------------------------------------

    def begin_reply(self, *tokens: str) -> Reply:
        """A new answer starts (`tokens`: already spoken, e.g. the greeting Twilio says)."""
        self.reply = Reply(at=timezone.now(), tokens=list(tokens))
        return self.reply

    def take_reply(self) -> Reply | None:
        reply, self.reply = self.reply, None
        return reply

    def write_reply(self) -> None:
        """The held answer, whole: something else happened on the call after it."""
        reply = self.take_reply()
        if reply is not None and reply.text:
            self.record(
                CallTurn.Speaker.RECEPTIONIST,
                reply.text,
                reply.at,
                first_token_ms=reply.first_token_ms,
            )

    def cut_reply(self, reply: Reply, heard: str) -> None:
        """An answer the caller talked over: only what they heard of it."""
        if heard:
            self.record(
                CallTurn.Speaker.RECEPTIONIST,
                heard,
                reply.at,
                interrupted=True,
                first_token_ms=reply.first_token_ms,
            )

    def record(
        self,
        speaker: str,
        text: str,
        at: datetime,
        *,
        interrupted: bool = False,
        first_token_ms: int | None = None,
    ) -> None:
        """Queue a turn; the call's writer inserts it after the ones before it."""
        if self.call_id is None:
            return
        self._pending.append(
            CallTurn(
                call_id=self.call_id,
                speaker=speaker,
                # Transports clean what they receive; this guards what engines say (they echo).
                text=storable(text),
                at=at,
                interrupted=interrupted,
                first_token_ms=first_token_ms,
            )
        )
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await _insert_turns(batch)
            except Exception:
                logger.exception("Call %s: could not record %d turn(s)", self.call_sid, len(batch))

    async def written(self) -> None:
        """Until every queued turn is in the database."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    # -- Events ------------------------------------------------------------------------------

    async def add_events(self, events: list[tuple[str, str]]) -> None:
        if self.call_id is None or not events:
            return
        try:
            await run_orm(append_call_events)(self.call_id, events)
        except Exception:
            logger.exception("Call %s: could not record events %s", self.call_sid, events)

    def unsaved_engine_events(self, events: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The engine's events (e.g. a fallback) not recorded yet; from now on they are."""
        new = list(events[self._engine_events_saved :])
        self._engine_events_saved = len(events)
        return new

    async def save_engine_events(self, events: list[tuple[str, str]]) -> None:
        """What the engine noted for staff is kept as it happens, not only when the call
        ends: a process that dies mid-call must not lose it."""
        new = self.unsaved_engine_events(events)
        if new:
            # Shielded: the caller talking over this answer must not lose the record.
            await asyncio.shield(self.add_events(new))


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
    except Exception:  # not only DatabaseError: a driver's encoding error fails it too
        if len(batches) == 1:
            raise
    failures: list[Exception | None] = []
    for turns in batches:
        try:
            CallTurn.objects.bulk_create(turns)
            failures.append(None)
        except Exception as exc:
            failures.append(exc)
    return failures
