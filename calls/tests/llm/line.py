"""A phone line without a socket: a CallSession on the LLM engine and what the caller heard."""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async

from calls.models import Call, CallTurn
from calls.session import CallSession
from calls.tests.conversation import CALLER


class HeardTransport:
    """Keeps every frame the session sends, with when it was sent (perf_counter)."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str, bool, float]] = []
        self.handoffs: list[dict] = []
        self.first_token = asyncio.Event()
        self.turn_done = asyncio.Event()

    async def send_text(self, token: str, last: bool) -> None:
        self.frames.append(("text", token, last, time.perf_counter()))
        if token:
            self.first_token.set()
        if last:
            self.turn_done.set()

    async def end(self, handoff_data: dict[str, str]) -> None:
        self.handoffs.append(handoff_data)

    async def answer(self, timeout: float = 10) -> str:
        """The next complete answer's text."""
        await asyncio.wait_for(self.turn_done.wait(), timeout)
        self.turn_done.clear()
        self.first_token.clear()
        text = "".join(f[1] for f in self.frames)
        self.frames = []
        return text.strip()


async def open_line(business, sid: str) -> tuple[CallSession, HeardTransport]:
    transport = HeardTransport()
    session = CallSession(
        business_slug=business.slug, call_sid=sid, transport=transport, engine_key="llm"
    )
    assert await session.start(caller_number=CALLER)
    return session, transport


async def say(session: CallSession, transport: HeardTransport, words: str) -> str:
    await session.handle_prompt(words)
    return await transport.answer()


@sync_to_async
def call_record(sid: str) -> Call:
    return Call.objects.select_related("booking").get(sid=sid)


@sync_to_async
def transcript(sid: str) -> list[tuple[str, str, bool]]:
    return [(t.speaker, t.text, t.interrupted) for t in CallTurn.objects.filter(call__sid=sid)]
