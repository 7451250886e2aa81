"""LLMEngine: the receptionist as a model that talks and calls tools, streamed to the caller.

One turn: the caller's words go to the model with the history and the tools; its text is
yielded as it arrives (the session cuts it into clauses and Twilio speaks the first while the
model is still writing); tool calls run through the ToolBox and their results go back to the
model for the next part of the answer. A slow tool gets a filler first. An interrupt cancels
the turn: the model's stream is closed at once and heard() cuts the history to what the
caller heard. When the model fails (timeout, rate limit, server error) the embedded
receptionist takes over the call with what was gathered, and the Call records it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings

from bookings.orm import run_orm
from calls.dialogue.base import CallContext, DialogueEngine
from calls.dialogue.embedded import EmbeddedEngine
from calls.dialogue.llm.client import (
    ModelClient,
    ModelUnavailable,
    TextDelta,
    describe,
    llm_config,
    settings_loaded,
)
from calls.dialogue.llm.consent import Consent
from calls.dialogue.llm.handover import Gathered, take_over
from calls.dialogue.llm.history import History, ToolCall
from calls.dialogue.llm.prompt import system_prompt
from calls.dialogue.llm.tools import TOOLS, ToolBox

logger = logging.getLogger(__name__)

FILLER = "One moment, let me check."
# After handing over mid-answer: the caller heard half a sentence, then a fresh start.
BRIDGE = "Sorry about that."
MAX_MODEL_ROUNDS = 6  # model requests in one turn (each tool round is one more)
# An interrupted tool (a booking being written) is allowed this long to finish, so its
# outcome is known and recorded rather than lost with the cancelled answer.
TOOL_GRACE_SECONDS = 5.0


def filler_after_seconds() -> float:
    return settings.LLM_FILLER_AFTER_SECONDS


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class LLMEngine(DialogueEngine):
    name = "llm"
    label = "LLM receptionist (OpenAI-compatible)"

    def __init__(self, context: CallContext) -> None:
        super().__init__(context)
        self.consent = Consent()
        self.gathered = Gathered(phone=context.caller_number or None)
        self.history: History | None = None
        self.tools: ToolBox | None = None
        self.model: ModelClient | None = None
        self.fallback: EmbeddedEngine | None = None
        self._greeting_heard: str | None = None
        self._tail = ""  # the last character said this turn (to space segments apart)
        self._call_ids: set[str] = set()

    # -- The contract ------------------------------------------------------------------

    async def respond(self, utterance: str) -> AsyncIterator[str]:
        if self.fallback is not None:
            async with aclosing(self._from_fallback(self.fallback.respond(utterance))) as pieces:
                async for piece in pieces:
                    yield piece
            return
        before_turn = self.gathered.copy()
        self._tail = ""
        try:
            await self._prepare()
            self.history.caller_said(utterance)
            self.tools.caller_answered(turn=self.history.turn, utterance=utterance)
            # aclosing: an interrupt closes this answer, and with it the model's stream, now.
            async with aclosing(self._converse(utterance)) as pieces:
                async for piece in pieces:
                    yield piece
        except Exception as exc:
            reason = exc.reason if isinstance(exc, ModelUnavailable) else describe(exc)
            if not isinstance(exc, ModelUnavailable):
                logger.exception("Call %s: the LLM engine failed", self.context.call_sid)
            async with aclosing(self._hand_over(utterance, reason, before_turn)) as pieces:
                async for piece in pieces:
                    yield piece
        finally:
            self._review()
            self._take_ending()

    def heard(self, spoken: str) -> None:
        if self.fallback is not None:
            self.fallback.heard(spoken)
            return
        if self.history is None:
            self._greeting_heard = spoken  # the greeting, cut before the first turn
            return
        self.history.cut_to(spoken)
        self._review()

    def respond_to_digits(self, digits: str) -> AsyncIterator[str]:
        if self.fallback is not None:
            return self._from_fallback(self.fallback.respond_to_digits(digits))
        return self.respond(f"(pressed on the keypad: {' '.join(digits)})")

    # -- One turn with the model -------------------------------------------------------

    async def _prepare(self) -> None:
        """Once per call, on the first turn: configuration, opening hours, the prompt."""
        if self.history is not None:
            return
        business = self.context.business
        if settings_loaded(business):  # a call's context: loaded when the call started
            config = llm_config(business=business)
        else:
            config = await run_orm(llm_config)(business=business)
        if not config.configured:
            raise ModelUnavailable("the LLM is not configured (LLM_API_KEY)")
        schedule = self.context.schedule or await run_orm(business.schedule)()
        greeting = business.welcome_greeting
        if self._greeting_heard is not None:
            greeting = self._greeting_heard
        history = History(
            system=system_prompt(
                business=business,
                services=self.context.services,
                schedule=schedule,
                now=self.context.clock(),
                caller_number=self.context.caller_number,
            ),
            greeting=greeting,
        )
        self.model = ModelClient(config)
        self.tools = ToolBox(
            context=self.context,
            state=self.state,
            consent=self.consent,
            gathered=self.gathered,
            history=history,
            schedule=schedule,
        )
        self.history = history

    async def _converse(self, utterance: str) -> AsyncIterator[str]:
        history, tools = self.history, self.tools
        assert history is not None and tools is not None and self.model is not None
        spoke_after_ending = False
        for _round in range(MAX_MODEL_ROUNDS):
            text: list[str] = []
            pending: dict[int | str | None, _PendingCall] = {}
            last_key: int | str | None = None
            stream = self.model.stream(messages=history.messages, tools=TOOLS)
            try:
                async for delta in stream:
                    if isinstance(delta, TextDelta):
                        first = not text
                        text.append(delta.text)  # before yielding: an interrupt lands there
                        yield self._spaced(delta.text) if first else self._said(delta.text)
                    else:
                        # Servers that leave out the index send each call whole, with its id.
                        key = delta.index if delta.index is not None else delta.id or last_key
                        last_key = key
                        call = pending.setdefault(key, _PendingCall())
                        call.id = call.id or delta.id
                        call.name = call.name or delta.name
                        call.arguments.append(delta.arguments)
            except BaseException:
                # Cut off (an interrupt, a failure): what was said stays said; the tool
                # calls never finished, so they never happened.
                history.model_said("".join(text), [])
                raise
            finally:
                await stream.aclose()
            calls = [
                ToolCall(
                    id=self._unique_id(call.id, f"call_{history.turn}_{_round}_{index}"),
                    name=call.name,
                    arguments="".join(call.arguments),
                )
                for index, call in enumerate(pending.values())
            ]
            history.model_said("".join(text), calls)
            if text and tools.ending is not None:
                spoke_after_ending = True
            if not calls:
                break
            self._review()  # a read-back in this very answer counts, as "not answered yet"
            try:
                async with aclosing(self._run_tools(calls, utterance)) as pieces:
                    async for piece in pieces:
                        yield piece
            finally:
                self._take_ending()  # also when an interrupt cut the round short
            if text and all(call.name == "end_call" for call in calls):
                # "Goodbye!" and end_call in one message: said, and nothing left to ask.
                spoke_after_ending = True
                break
        else:
            raise ModelUnavailable(f"no answer after {MAX_MODEL_ROUNDS} model rounds")
        if tools.ending is not None and not spoke_after_ending:
            # The model ended the call without a goodbye: ours, so the call never just drops.
            history.we_said(tools.closing_words)
            yield self._spaced(tools.closing_words)
        elif not history.spoken_this_turn():
            raise ModelUnavailable("the model answered with nothing to say")

    async def _run_tools(self, calls: list[ToolCall], utterance: str) -> AsyncIterator[str]:
        history = self.history
        assert history is not None
        task = asyncio.ensure_future(self._execute(calls, history.turn, utterance))
        try:
            done, _ = await asyncio.wait({task}, timeout=filler_after_seconds())
            if not done and FILLER not in (s.text for s in history.spoken_this_turn()):
                history.we_said(FILLER)
                yield self._spaced(FILLER)
            await asyncio.shield(task)
        finally:
            try:
                if not task.done():
                    await asyncio.wait({task}, timeout=TOOL_GRACE_SECONDS)
            finally:
                # Every tool call needs a result in the history, or the next request is
                # invalid; a tool still running past the grace reports nothing later.
                answered = history.answered([c.id for c in calls])
                for call in calls:
                    if call.id not in answered:
                        history.tool_result(
                            call.id, {"error": "Interrupted by the caller before it finished."}
                        )

    async def _execute(self, calls: list[ToolCall], turn: int, utterance: str) -> None:
        assert self.tools is not None and self.history is not None
        for call in calls:
            result = await self.tools.execute(
                call.name, call.arguments, turn=turn, utterance=utterance
            )
            if not self.history.answered([call.id]):  # else given up on after an interrupt
                self.history.tool_result(call.id, result)

    # -- When the model fails ----------------------------------------------------------

    async def _hand_over(
        self, utterance: str, reason: str, before_turn: Gathered
    ) -> AsyncIterator[str]:
        self.state.events.append(("llm_fallback", reason))
        spoke = bool(self.history and self.history.spoken_this_turn())
        if self.tools is not None and self.tools.ending is not None:
            # The work is done (booked, cancelled...); only the goodbye was lost.
            logger.warning(
                "Call %s: the model failed after the call's outcome (%s)",
                self.context.call_sid,
                reason,
            )
            self.ending = self.tools.ending
            yield self._spaced(self.tools.closing_words)
            return
        logger.warning(
            "Call %s: the model failed (%s); the embedded receptionist takes over",
            self.context.call_sid,
            reason,
        )
        earlier = self.history.caller_turns[:-1] if self.history else []
        engine, answer = await take_over(
            context=self.context,
            state=self.state,
            utterance=utterance,
            before_turn=before_turn,
            now=self.gathered,
            earlier_words=earlier,
        )
        self.fallback = engine
        if engine.ending is not None:
            self.ending = engine.ending
        if spoke:
            yield self._spaced(BRIDGE)
        yield self._spaced(answer)

    async def _from_fallback(self, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        assert self.fallback is not None
        async with aclosing(pieces):
            async for piece in pieces:
                yield piece
        if self.fallback.ending is not None:
            self.ending = self.fallback.ending

    # -- Helpers -------------------------------------------------------------------------

    def _spaced(self, text: str) -> str:
        """A new segment of this turn's answer starts with a space: "check.It's" would be
        read (and chunked) as one word."""
        if self._tail and not self._tail.isspace() and text and not text[0].isspace():
            text = " " + text
        return self._said(text)

    def _said(self, text: str) -> str:
        if text:
            self._tail = text[-1]
        return text

    def _unique_id(self, given: str, ours: str) -> str:
        """Tool results are matched to calls by id; some servers send none or reuse them."""
        call_id = given if given and given not in self._call_ids else ours
        self._call_ids.add(call_id)
        return call_id

    def _take_ending(self) -> None:
        """What the tools did stands, even when the answer that ran them was cut off (the
        caller talked over it while a booking was being written and finished in the grace):
        the call then ends after the next thing said, not never."""
        if self.tools is not None and self.tools.ending is not None:
            self.ending = self.tools.ending

    def _review(self) -> None:
        if self.history is not None:
            self.consent.review(
                turn=self.history.turn, spoken=self.history.spoken_this_turn(), today=self._today()
            )

    def _today(self) -> date:
        return self.context.clock().astimezone(self.context.business.tz).date()
