"""The Twilio ConversationRelay socket: frames in, the call session, frames out.

Thin on purpose: it checks the handshake, claims the call for this one socket, parses and
validates each frame, and calls the session (calls/session.py), which owns the conversation.
A bad frame is logged and dropped; it never ends a caller's call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from bookings.orm import run_orm
from calls.services import RelayClaim, release_relay_socket
from calls.session import CallSession, claim_call
from calls.storable_text import storable_frame
from calls.twilio_signature import websocket_signature_valid

logger = logging.getLogger(__name__)

# How much of a rejected frame goes into the log: enough to debug, not a caller's monologue.
LOG_EXCERPT_CHARS = 200


def max_frame_bytes() -> int:
    return settings.CALL_MAX_FRAME_BYTES


def _excerpt(text: str) -> str:
    return repr(text[:LOG_EXCERPT_CHARS]) + ("..." if len(text) > LOG_EXCERPT_CHARS else "")


async def _let_the_server_write() -> None:
    """Daphne hands a frame to Twisted, which writes it to the socket only once the event
    loop has polled it. Yield until that poll has run (the first yield puts this task ahead
    of it, the second behind it), so Twilio gets these words before the rest of the answer
    (the model's remaining stream, a tool call) keeps the loop busy."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class RelayTransport:
    """The session's output as ConversationRelay frames."""

    def __init__(self, consumer: AsyncWebsocketConsumer) -> None:
        self.consumer = consumer

    async def send_text(self, token: str, last: bool) -> None:
        await self.consumer.send(
            text_data=json.dumps({"type": "text", "token": token, "last": last})
        )
        await _let_the_server_write()

    async def end(self, handoff_data: dict[str, str]) -> None:
        # handoffData is a string holding JSON, not an object: Twilio passes it on verbatim.
        frame = {"type": "end", "handoffData": json.dumps(handoff_data)}
        await self.consumer.send(text_data=json.dumps(frame))


class ConversationRelayConsumer(AsyncWebsocketConsumer):
    # Nothing sends to a live call's socket through the channel layer: without this, every
    # call would wait on the layer's receive too (Redis in production), and a Redis timeout
    # would end every call in the process.
    channel_layer_alias = None
    session: CallSession | None = None
    claim: RelayClaim | None = None
    started = False
    told_ended = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first closes stale database connections, in a thread hop of
        # its own, for every frame. This consumer touches the database only through
        # bookings.orm, which does that in the thread that does the work, so a frame costs
        # no hop unless the call needs the database.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        route = self.scope["url_route"]["kwargs"]
        self.call_sid = route["call_sid"]
        signature = _header(self.scope, b"x-twilio-signature")
        if not websocket_signature_valid(_path_with_query(self.scope), signature):
            logger.warning(
                "Refused ConversationRelay handshake for call %s: %s Twilio signature",
                self.call_sid,
                "bad" if signature else "no",
            )
            await self.close()
            return
        # The claim and the call's context in one trip (the session starts from it at setup).
        claimed = await run_orm(claim_call)(business_slug=route["slug"], call_sid=self.call_sid)
        if claimed is None:
            await self.close()  # refuses the handshake (HTTP 403); the service logged why
            return
        self.claim, self.loaded = claimed
        self.session = CallSession(
            business_slug=route["slug"], call_sid=self.call_sid, transport=RelayTransport(self)
        )
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.session is None:
            return
        if self.session.engine is None:
            # Nothing was said on this socket: Twilio may still connect the call.
            await run_orm(release_relay_socket)(self.claim)
        await self.session.close()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session.ended:
            # Whatever arrives after the end is not part of the call; a flood of it must not
            # become a flood of log lines.
            if not self.told_ended:
                self.told_ended = True
                logger.info("Call %s: ignoring frames that arrive after the end", self.call_sid)
            return
        if text_data is None:
            logger.warning("Call %s: ignoring a binary frame", self.call_sid)
            return
        if len(text_data.encode("utf-8", "surrogatepass")) > max_frame_bytes():
            logger.warning(
                "Call %s: ignoring a %d-character frame (over %d bytes): %s",
                self.call_sid,
                len(text_data),
                max_frame_bytes(),
                _excerpt(text_data),
            )
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            logger.warning(
                "Call %s: ignoring a frame that is not JSON: %s", self.call_sid, _excerpt(text_data)
            )
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            logger.warning(
                "Call %s: ignoring a frame without a type: %s", self.call_sid, _excerpt(text_data)
            )
            return
        # Text that can't be stored (a lone surrogate, NUL) is cleaned here, at the boundary,
        # so nothing behind it (transcript, understanding, logs) ever sees it.
        frame = storable_frame(frame)
        handler = self.handlers.get(frame["type"])
        if handler is None:
            logger.warning("Call %s: ignoring a %r frame", self.call_sid, frame["type"][:40])
            return
        try:
            await handler(self, frame)
        except FrameError as problem:
            logger.warning(
                "Call %s: ignoring a %s frame (%s): %s",
                self.call_sid,
                frame["type"],
                problem,
                _excerpt(text_data),
            )
        except Exception:
            # The session should not raise; if it does, the caller is still on the line.
            logger.exception("Call %s: handling a %s frame failed", self.call_sid, frame["type"])

    # -- One method per message type ---------------------------------------------------

    async def on_setup(self, frame: dict[str, Any]) -> None:
        if self.started:
            logger.warning("Call %s: ignoring a second setup", self.call_sid)
            return
        self.started = True
        # The signed URL names the call and the signed webhook said who is calling whom; a
        # setup saying otherwise is noted, not obeyed (its fields carry no signature).
        claim = self.claim
        said = {
            "callSid": (frame.get("callSid"), self.call_sid),
            "from": (frame.get("from"), claim.from_number),
            "to": (frame.get("to"), claim.to_number),
        }
        for field, (setup_value, signed_value) in said.items():
            if setup_value not in (None, "", signed_value):
                logger.warning(
                    "Call %s: ignoring setup's %s %s; the signed webhook said %r",
                    self.call_sid,
                    field,
                    _excerpt(str(setup_value)),
                    signed_value,
                )
        await self.session.start(
            caller_number=claim.from_number,
            to_number=claim.to_number,
            claimed=claim,
            loaded=self.loaded,
        )

    async def on_prompt(self, frame: dict[str, Any]) -> None:
        text = _required(frame, "voicePrompt", str)
        if not _required(frame, "last", bool):
            return  # a partial transcript: the final one follows
        await self.session.handle_prompt(text)

    async def on_dtmf(self, frame: dict[str, Any]) -> None:
        await self.session.handle_dtmf(_required(frame, "digit", str))

    async def on_interrupt(self, frame: dict[str, Any]) -> None:
        # Stopping matters more than knowing what was heard: a missing field still interrupts.
        await self.session.handle_interrupt(_optional_str(frame, "utteranceUntilInterrupt"))

    async def on_error(self, frame: dict[str, Any]) -> None:
        await self.session.handle_error(_optional_str(frame, "description") or "(no description)")

    async def on_info(self, frame: dict[str, Any]) -> None:
        logger.debug("Call %s: info frame", self.call_sid)

    handlers = {
        "setup": on_setup,
        "prompt": on_prompt,
        "dtmf": on_dtmf,
        "interrupt": on_interrupt,
        "error": on_error,
        "info": on_info,
    }


class FrameError(ValueError):
    """A known message type with a missing or mistyped field."""


def _required(frame: dict[str, Any], key: str, kind: type) -> Any:
    value = frame.get(key)
    if not isinstance(value, kind):
        raise FrameError(f"{key} must be {kind.__name__}")
    return value


def _optional_str(frame: dict[str, Any], key: str) -> str:
    value = frame.get(key)
    return value if isinstance(value, str) else ""


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _path_with_query(scope: dict[str, Any]) -> str:
    """The path as Twilio requested it: the signature covers the URL exactly as written."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path
