"""The conversation as the model sees it (OpenAI chat messages), kept truthful.

What the caller heard is what the model is told it said: when the caller talks over an answer,
the assistant text of that turn is cut to the words that were heard (tool calls and their
results stay: they happened). Our own filler ("One moment, let me check.") is spoken but is not
the model's, so it is kept apart from the messages while still counted when cutting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from calls.dialogue.llm.consent import Spoken


@dataclass
class _Said:
    serial: int
    text: str
    message: dict[str, Any] | None  # the assistant message it is the content of; None: filler


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON, as the model wrote it

    def as_message_part(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class History:
    def __init__(self, *, system: str, greeting: str = "") -> None:
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        self.caller_turns: list[str] = []
        self._said: list[_Said] = []  # what we said since the caller last spoke
        self._serial = 0
        if greeting:
            self.model_said(greeting, [])

    @property
    def turn(self) -> int:
        """How many times the caller has spoken (0 during the greeting)."""
        return len(self.caller_turns)

    @property
    def serial(self) -> int:
        """The serial the next thing said will have (to tell what came after a proposal)."""
        return self._serial

    def caller_said(self, text: str) -> None:
        self.caller_turns.append(text)
        self.messages.append({"role": "user", "content": text})
        self._said = []

    def model_said(self, text: str, tool_calls: list[ToolCall]) -> None:
        if not text.strip() and not tool_calls:
            return
        message: dict[str, Any] = {"role": "assistant", "content": text.strip() or None}
        if tool_calls:
            message["tool_calls"] = [call.as_message_part() for call in tool_calls]
        self.messages.append(message)
        if text.strip():
            self._remember(text.strip(), message)

    def we_said(self, text: str) -> None:
        """Words of ours, not the model's (the filler)."""
        self._remember(text, None)

    def tool_result(self, call_id: str, result: dict[str, Any]) -> None:
        self.messages.append(
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)}
        )

    def answered(self, call_ids: list[str]) -> set[str]:
        return {
            m["tool_call_id"]
            for m in self.messages
            if m["role"] == "tool" and m["tool_call_id"] in call_ids
        }

    def spoken_this_turn(self) -> list[Spoken]:
        return [Spoken(serial=s.serial, text=s.text) for s in self._said if s.text]

    def cut_to(self, heard: str) -> None:
        """The caller heard only `heard` of what we said this turn: cut the rest away."""
        remaining = heard
        for said in self._said:
            kept, remaining = _heard_part(said.text, remaining)
            said.text = kept
            if said.message is not None:
                said.message["content"] = kept or None
        # An assistant message left with neither words nor tool calls says nothing.
        self.messages = [
            m
            for m in self.messages
            if m["role"] != "assistant" or m.get("content") or m.get("tool_calls")
        ]

    def _remember(self, text: str, message: dict[str, Any] | None) -> None:
        self._said.append(_Said(serial=self._serial, text=text, message=message))
        self._serial += 1


def _heard_part(text: str, heard: str) -> tuple[str, str]:
    """How much of `text` the words `heard` cover, and what of `heard` is left for the text
    that followed it. Letters and digits are compared (any case); spacing and punctuation may
    differ, as a transcript of what was spoken does. Stops at the first real difference: the
    caller heard at most that much."""
    i = j = 0
    while i < len(text) and j < len(heard):
        if not text[i].isalnum():
            i += 1
        elif not heard[j].isalnum():
            j += 1
        elif text[i].lower() == heard[j].lower():
            i += 1
            j += 1
        else:
            return text[:i].rstrip(), ""
    # The punctuation closing the last word heard ("free." for "free") was heard with it.
    while i < len(text) and not text[i].isalnum() and not text[i].isspace():
        i += 1
    return text[:i].rstrip(), heard[j:]
