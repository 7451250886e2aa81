"""A call's limits and timers: how long it may last, how many turns it may take, how long
an answer may take, silence after an answer, and the pause that ends keypad input.

ConversationRelay sends nothing when the caller says nothing, and a call that runs away
costs money and keeps a line busy: these timers are how the call notices. Each one calls
back into the session (`CallLimits(on_...)`), which decides what is said; the session tells
the limits what happened (a turn, the caller speaking, an answer spoken, a key pressed).
The numbers are settings (CALL_MAX_SECONDS, CALL_MAX_TURNS, CALL_TURN_TIMEOUT_SECONDS,
CALL_SILENCE_SECONDS, CALL_DTMF_PAUSE_SECONDS).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from django.conf import settings

MAX_SILENCES = 3  # in a row, then the call is wrapped up
SPOKEN_WORDS_PER_SECOND = 2.5  # to estimate when text-to-speech has finished
DTMF_DIGITS = frozenset("0123456789*#ABCD")


class CallLimits:
    def __init__(
        self,
        *,
        on_time_up: Callable[[float], Awaitable[None]],
        on_silence: Callable[[bool], Awaitable[None]],
        on_digits: Callable[[str], Awaitable[None]],
    ) -> None:
        self._on_time_up = on_time_up
        self._on_silence = on_silence  # called with True on the silence that ends the call
        self._on_digits = on_digits
        self.turns = 0
        self._silences = 0
        self._digits = ""
        self._length_timer: asyncio.Task | None = None
        self._silence_timer: asyncio.Task | None = None
        self._digits_timer: asyncio.Task | None = None

    @property
    def turn_timeout(self) -> float:
        """The longest an answer may take before the caller hears an apology instead."""
        return settings.CALL_TURN_TIMEOUT_SECONDS

    def start(self) -> None:
        self._length_timer = asyncio.create_task(self._after_max_length())

    def stop(self) -> None:
        """The call is over: no timer fires any more (except the one calling this)."""
        for timer in (self._length_timer, self._silence_timer, self._digits_timer):
            if timer is not None and timer is not asyncio.current_task():
                timer.cancel()

    # -- Turns --------------------------------------------------------------------------------

    def count_turn(self) -> str | None:
        """One more turn; past the limit, why the call must be wrapped up."""
        self.turns += 1
        if self.turns > settings.CALL_MAX_TURNS:
            return f"Reached the limit of {settings.CALL_MAX_TURNS} turns"
        return None

    async def _after_max_length(self) -> None:
        seconds = settings.CALL_MAX_SECONDS
        await asyncio.sleep(seconds)
        await self._on_time_up(seconds)

    # -- Silence ------------------------------------------------------------------------------

    def caller_spoke(self) -> None:
        self._silences = 0
        self.cancel_silence()

    def answer_spoken(self, spoken: str) -> None:
        """Our answer has been sent: the caller gets the time to hear it, then some."""
        self.cancel_silence()
        delay = settings.CALL_SILENCE_SECONDS + len(spoken.split()) / SPOKEN_WORDS_PER_SECOND
        self._silence_timer = asyncio.create_task(self._after_silence(delay))

    def cancel_silence(self) -> None:
        timer = self._silence_timer
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        self._silence_timer = None

    async def _after_silence(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._silence_timer = None
        self._silences += 1
        await self._on_silence(self._silences >= MAX_SILENCES)

    # -- Keypad -------------------------------------------------------------------------------

    async def key(self, digit: str) -> bool:
        """A keypad press: digits are collected until '#' or a pause, then handed over
        together. False for something that is not a key."""
        if digit not in DTMF_DIGITS:
            return False
        if self._digits_timer is not None:
            self._digits_timer.cancel()
            self._digits_timer = None
        if digit == "#":
            await self.submit_digits()
        else:
            self._digits += digit
            self._digits_timer = asyncio.create_task(self._digits_after_pause())
        return True

    async def _digits_after_pause(self) -> None:
        await asyncio.sleep(settings.CALL_DTMF_PAUSE_SECONDS)
        self._digits_timer = None
        await self.submit_digits()

    async def submit_digits(self) -> None:
        digits, self._digits = self._digits, ""
        if digits:
            await self._on_digits(digits)
