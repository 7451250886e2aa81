"""Cutting an answer into speakable tokens: clauses and sentences, sent as soon as they are whole.

Twilio starts speaking the first `text` token while we are still producing the rest, so a
short first clause means the caller hears us sooner. But text-to-speech reads each token with
its own intonation, so a cut in the wrong place is audible: never inside a number ("3:30",
"1,000", "2.5"), never after an abbreviation ("3 p.m. tomorrow", "Dr. Smith"), and commas only
once the clause is long enough to be worth a breath.

Tokens are exact slices of the text (whitespace kept), so joining them gives the text back.
"""

from __future__ import annotations

import re

SENTENCE_ENDS = ".!?"
CLAUSE_ENDS = ";:"
# A comma only ends a token once the clause before it is this long: "Yes, Tuesday" stays whole.
MIN_COMMA_CLAUSE = 30
# Text with no punctuation at all is cut at a space once it gets this long.
MAX_TOKEN_CHARS = 240
# Closing quotes and brackets belong to the clause they close.
CLOSERS = "\"')]}\u201d\u2019"

# Words ending in "." that do not end a sentence when spoken.
ABBREVIATIONS = frozenset(
    {"a.m", "p.m", "am", "pm", "dr", "mr", "mrs", "ms", "st", "mt", "jr", "sr", "no", "vs",
     "e.g", "i.e", "etc", "approx", "appt", "min", "mins", "hr", "hrs", "ave", "rd", "u.s"}
)  # fmt: skip
_LAST_WORD = re.compile(r"([A-Za-z.]+)\.$")


def _after_abbreviation(text: str, dot: int) -> bool:
    """Is the '.' at `dot` the end of an abbreviation or an initial ("J.", "p.m.")?"""
    match = _LAST_WORD.search(text[max(0, dot - 16) : dot + 1])
    if match is None:
        return False
    word = match.group(1).lower()
    return word in ABBREVIATIONS or len(word.rstrip(".")) == 1


class SpeechChunker:
    """Feed it the engine's pieces as they come; it hands back whole tokens."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, piece: str) -> list[str]:
        self._buffer += piece
        tokens = []
        while (cut := self._next_cut()) is not None:
            tokens.append(self._buffer[:cut])
            self._buffer = self._buffer[cut:]
        return tokens

    def flush(self) -> list[str]:
        """Whatever is left once the answer is complete."""
        rest, self._buffer = self._buffer, ""
        return [rest] if rest.strip() else []

    def _next_cut(self) -> int | None:
        """Where the first whole token ends in the buffer (exclusive), or None."""
        text = self._buffer
        clause_start = len(text) - len(text.lstrip())
        # Only the head of the buffer is searched: past MAX_TOKEN_CHARS it is cut at a space
        # anyway, and a huge answer must not be rescanned from the start for every token.
        for i in range(min(len(text), MAX_TOKEN_CHARS)):
            char = text[i]
            if char not in SENTENCE_ENDS and char not in CLAUSE_ENDS and char != ",":
                continue
            end = i + 1
            while end < len(text) and text[end] in CLOSERS:
                end += 1
            if end == len(text):
                # Nothing after it yet: the next piece may continue "3:" with "30".
                if char in SENTENCE_ENDS and self._ends_sentence(text, i):
                    return end
                return None
            if not text[end].isspace():
                continue  # inside "3:30", "1,000", "p.m." or "..."
            if char == ",":
                if end - clause_start >= MIN_COMMA_CLAUSE:
                    return end
                continue
            if char == "." and _after_abbreviation(text, i):
                continue
            return end
        if len(text) > MAX_TOKEN_CHARS:
            space = text.rfind(" ", clause_start + 1, MAX_TOKEN_CHARS)
            return space if space > 0 else MAX_TOKEN_CHARS
        return None

    @staticmethod
    def _ends_sentence(text: str, i: int) -> bool:
        """A '.', '!' or '?' that ends the buffer: is it safe to send before the next piece?"""
        if text[i] != ".":
            return True
        if i > 0 and (text[i - 1].isdigit() or text[i - 1] == "."):
            return False  # "3." may go on as "3.5"; "..." may go on
        return not _after_abbreviation(text, i)


def speech_tokens(text: str) -> list[str]:
    """A whole answer cut into tokens (for answers that are not streamed)."""
    chunker = SpeechChunker()
    return chunker.feed(text) + chunker.flush()
