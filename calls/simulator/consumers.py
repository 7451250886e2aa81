"""The simulator socket: staff type what a caller would say and read the answers as they stream.

Thin on purpose: it checks who is asking, parses frames and hands them to the same
`CallSession` a phone call uses. Browser -> server frames:

    {"type": "start", "caller": "+15555550123", "as_customer": false}
                                                  begin a call (no caller ID: a fresh test
                                                  number of its own); a number with a real
                                                  customer's bookings needs as_customer: true
    {"type": "say", "text": "..."}                what the caller says
    {"type": "hangup"}                            the caller hangs up

Server -> browser frames:

    {"type": "started", "call_sid", "caller", "call_admin_url"}
    {"type": "text", "token", "last"}             the receptionist's answer, streamed (the
                                                  greeting first, as one last=True token)
    {"type": "end", "handoff", "outcome", "outcome_label", "booking", "call_admin_url"}
    {"type": "error", "message"}                  the frame was ignored; the call goes on
"""

from __future__ import annotations

import asyncio
import json

from channels.generic.websocket import AsyncWebsocketConsumer

from bookings.orm import run_orm
from calls.models import Call
from calls.session import CallSession
from calls.simulator.access import may_simulate, real_bookings_of
from calls.simulator.frames import FrameError, parse_frame
from calls.simulator.identity import fresh_test_number, new_call_sid
from calls.simulator.records import call_admin_url, call_summary


class SocketTransport:
    """The session's output, as JSON frames to the browser."""

    def __init__(self, consumer: SimulatorConsumer) -> None:
        self.consumer = consumer

    async def send_text(self, token: str, last: bool) -> None:
        await self.consumer.send_frame({"type": "text", "token": token, "last": last})

    async def end(self, handoff_data: dict[str, str]) -> None:
        self.consumer.finish_call(handoff_data)


class SimulatorConsumer(AsyncWebsocketConsumer):
    """One socket, one call at a time; a new "start" after the end begins another."""

    async def connect(self) -> None:
        self.slug: str = self.scope["url_route"]["kwargs"]["slug"]
        self.session: CallSession | None = None
        self.finishing: asyncio.Task | None = None
        self.open = False
        if not await run_orm(may_simulate)(self.scope.get("user")):
            # Closing before accept() refuses the handshake (HTTP 403).
            await self.close()
            return
        await self.accept()
        self.open = True

    async def disconnect(self, code: int) -> None:
        self.open = False
        if self.session is None:
            return
        if self.finishing is not None:
            # The call is already ending: let it write its record (close() is idempotent).
            await asyncio.shield(self.finishing)
        else:
            await self.session.close()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = parse_frame(text_data)
            if frame["type"] == "start":
                await self.start_call(frame["caller"], as_customer=frame["as_customer"])
            elif frame["type"] == "say":
                await self.active_session().handle_prompt(frame["text"])
            else:
                self.active_session()
                self.finish_call({"reason": "hangup"})
        except FrameError as error:
            await self.send_frame({"type": "error", "message": str(error)})

    async def start_call(self, caller: str, *, as_customer: bool = False) -> None:
        if self.session is not None and self.finishing is None:
            raise FrameError("A call is already in progress; hang up first.")
        if not as_customer:
            # The receptionist would treat the caller as that customer: it could move or
            # cancel their bookings and text them. Only on purpose.
            bookings = await run_orm(real_bookings_of)(slug=self.slug, caller=caller)
            if bookings:
                raise FrameError(
                    f"{caller} is a real customer's number ({bookings} upcoming booking"
                    f"{'s' if bookings > 1 else ''}): the receptionist could move or cancel "
                    'them and text that number. Use a test number, or tick "I am calling as '
                    'this customer" to go ahead.'
                )
        if self.finishing is not None:
            await self.finishing
        self.finishing = None
        self.session = CallSession(
            business_slug=self.slug,
            call_sid=new_call_sid(),
            transport=SocketTransport(self),
            channel=Call.Channel.SIMULATOR,
        )
        caller = caller or fresh_test_number()
        # When the business is unknown or inactive, start() says so through the transport.
        if await self.session.start(caller_number=caller):
            await self.send_frame(
                {
                    "type": "started",
                    "call_sid": self.session.call_sid,
                    "caller": caller,
                    "call_admin_url": call_admin_url(self.session.call_id),
                }
            )
            # On the phone Twilio speaks the greeting; here it is the first answer.
            await self.send_frame({"type": "text", "token": self.session.greeting, "last": True})

    def active_session(self) -> CallSession:
        if self.session is None:
            raise FrameError("Start a call first.")
        if self.finishing is not None:
            raise FrameError("The call has ended; start a new one.")
        return self.session

    def finish_call(self, handoff: dict[str, str]) -> None:
        """End the call: the engine ended it (from inside its answer, so not awaited here:
        closing waits for that answer to finish) or the caller hung up."""
        if self.finishing is None:
            self.finishing = asyncio.create_task(self._finish(self.session, handoff))

    async def _finish(self, session: CallSession, handoff: dict[str, str]) -> None:
        await session.close()
        summary = {"outcome": None, "outcome_label": "", "booking": None, "call_admin_url": None}
        if session.call_id is not None:
            summary = await run_orm(call_summary)(session.call_id)
        if self.open:
            await self.send_frame({"type": "end", "handoff": handoff, **summary})

    async def send_frame(self, frame: dict) -> None:
        if not self.open:
            # The browser left mid-answer: the session records the call all the same.
            raise ConnectionError("The simulator socket is closed.")
        await self.send(text_data=json.dumps(frame))
