"""A call's record as it happens: the transcript's turns and the events staff see.

Why the receptionist's turn is written late: Twilio speaks our text after we have finished
streaming it, so the caller usually interrupts an answer we already consider done. Turns are
insert-only, so the answer waits (with its own timestamp) until the next thing happens on the
call: an interrupt cuts it to what was heard, anything else writes it whole.

When turns reach the database: the recorder keeps them in memory and inserts them in one
statement at a checkpoint (see `TranscriptRecorder.checkpoint`), never while the caller
waits for an answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.utils import timezone

from bookings.orm import run_orm
from calls.models import CallTurn
from calls.services import append_call_events
from calls.storable_text import storable

logger = logging.getLogger(__name__)

T = TypeVar("T")


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
        self._flushing = asyncio.Lock()  # one insert at a time: turns keep their order
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
        """Keep a turn for the next checkpoint, after the ones before it."""
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

    # The crash-safe rule, and why it is not one insert per turn: a call's turns are written
    # in one statement at its end, and before that whenever the call has just achieved
    # something durable (a booking, a move, a cancellation, a message: the read-back and the
    # caller's "yes" are then on record with it) or MAX_UNWRITTEN_TURNS are waiting. A process
    # that dies mid-call loses at most the small talk since the last such moment, never the
    # conversation behind a booking, and a booking call costs one insert instead of one per
    # turn. Checkpoints run after an answer has gone out, so the caller never waits for them.
    MAX_UNWRITTEN_TURNS = 8

    async def checkpoint(self, *, achieved_something: bool) -> None:
        """After an answer: write the turns if the rule above says it is time."""
        if achieved_something or len(self._pending) >= self.MAX_UNWRITTEN_TURNS:
            await self.flush()

    async def flush(self) -> None:
        """Write every turn recorded so far (one insert); a failure is logged, never raised:
        the call goes on."""
        async with self._flushing:
            turns, self._pending = self._pending, []
            if turns:
                await run_orm(self._insert)(turns)

    async def flush_then(self, work: Callable[[], T]) -> T:
        """`flush`, then the sync database work `work` (e.g. the call's outcome), in the
        same trip to an ORM thread; returns what `work` returns, raises what it raises."""
        async with self._flushing:
            turns, self._pending = self._pending, []
            return await run_orm(self._insert_then)(turns, work)

    def _insert(self, turns: list[CallTurn]) -> None:
        try:
            CallTurn.objects.bulk_create(turns)
        except Exception:  # not only DatabaseError: a driver's encoding error fails it too
            logger.exception("Call %s: could not record %d turn(s)", self.call_sid, len(turns))

    def _insert_then(self, turns: list[CallTurn], work: Callable[[], T]) -> T:
        if turns:
            self._insert(turns)
        return work()

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
