"""A deterministic dialogue engine for the call-loop tests (never registered in production).

It answers in several pieces so chunking and interrupts can be observed, and has a word for
each thing the session must survive: "bye" and "person" end the call, "explode" raises
half-way through an answer, "hang" never answers, "story" streams slowly, "note" records an
engine event and "booked" sets an outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from calls.dialogue.base import DialogueEngine, Ending
from calls.dialogue.registry import register

STORY = [f"This is sentence number {n} of a long story. " for n in range(1, 41)]
STORY_PAUSE_SECONDS = 0.02


@register
class ScriptedEngine(DialogueEngine):
    name = "scripted"
    label = "Scripted (tests only)"

    def __init__(self, context) -> None:
        super().__init__(context)
        self.heard_log: list[str] = []
        self.digits_log: list[str] = []

    async def respond(self, utterance: str) -> AsyncIterator[str]:
        words = utterance.lower()
        if "explode" in words:
            yield "Let me see. "
            raise RuntimeError("scripted explosion")
        if "hang" in words:
            await asyncio.sleep(3600)
        if "story" in words:
            for sentence in STORY:
                yield sentence
                await asyncio.sleep(STORY_PAUSE_SECONDS)
            return
        if "bye" in words:
            self.ending = Ending(reason="goodbye")
            yield "Thanks for calling. Goodbye!"
            return
        if "person" in words:
            self.state.outcome = "transferred"
            self.ending = Ending(
                reason="transfer", transfer_to=self.context.business.transfer_number
            )
            yield "Of course, "
            yield "putting you through now."
            return
        if "note" in words:
            self.state.events.append(("note", "the caller asked for a note"))
        if "booked" in words:
            self.state.outcome = "booked"
        yield "You said: "
        yield utterance
        yield ". Anything else?"

    def heard(self, spoken: str) -> None:
        self.heard_log.append(spoken)

    def respond_to_digits(self, digits: str) -> AsyncIterator[str]:
        self.digits_log.append(digits)
        return self.respond(f"digits {digits}")
