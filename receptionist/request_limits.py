"""How much, and how slowly, an HTTP client may send: refused before anything buffers it.

Daphne (twisted.web) receives a whole request body, into a temporary file, before it calls
the ASGI app, and then queues all of it in memory for the app: by the time any ASGI code
could look, a 200 MB body is already in the process. So the limits (HTTP_MAX_BODY_BYTES,
HTTP_BODY_TIMEOUT_SECONDS) are enforced in two places:

- `LimitedWebRequest`, Daphne's per-request class (installed by `install_in_daphne`, which
  receptionist/asgi.py calls when Daphne imports the app): a Content-Length over the limit
  is answered 413 as soon as the headers are in, a chunked body is counted as it arrives
  (413 when it passes the limit), and a request whose headers and body have not all arrived
  within the timeout is answered 408. The connection is then closed; nothing is read on.
- `BodyLimitMiddleware`, around the ASGI app: the same size rule for servers that stream the
  body to the app, so no server in front of this app hands Django more than the limit.

The TLS proxy in front should refuse first (docs/security.md gives its settings).
"""

from __future__ import annotations

import logging
import time

from daphne import http_protocol
from django.conf import settings

logger = logging.getLogger(__name__)


def _plain_response(status: int, reason: str, text: str) -> bytes:
    body = (text + "\n").encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def too_large_text() -> str:
    return f"Request body too large: at most {settings.HTTP_MAX_BODY_BYTES} bytes."


# -- In Daphne, before the body is buffered ------------------------------------------------


class LimitedWebRequest(http_protocol.WebRequest):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Created when the request line arrives: the clock covers headers and body.
        self._arriving_since = time.monotonic()
        self._body_bytes = 0
        self._refused = False

    def gotLength(self, length):
        super().gotLength(length)
        if length is not None and length > settings.HTTP_MAX_BODY_BYTES:
            self._refuse(413, "Content Too Large", too_large_text())

    def handleContentChunk(self, data):
        if self._refused:
            return
        self._body_bytes += len(data)
        if self._body_bytes > settings.HTTP_MAX_BODY_BYTES:
            self._refuse(413, "Content Too Large", too_large_text())
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if not self._refused:
            super().requestReceived(command, path, version)

    def check_timeouts(self):
        # Daphne calls this every 2 s for every connection. Until the request has fully
        # arrived (process() sets request_start), timing it out is ours; after that, Daphne's
        # --http-timeout bounds the app's answer.
        if hasattr(self, "request_start") or self._refused:
            return super().check_timeouts()
        limit = settings.HTTP_BODY_TIMEOUT_SECONDS
        if time.monotonic() - self._arriving_since > limit:
            self._refuse(408, "Request Timeout", f"The request did not arrive within {limit:g} s.")

    def _refuse(self, status: int, reason: str, text: str) -> None:
        self._refused = True
        if self.channel is None:  # the client has gone already
            return
        peer = self.channel.transport.getPeer()
        logger.warning(
            "Refused an HTTP request from %s:%s: %s %s.", peer.host, peer.port, status, reason
        )
        self.channel.transport.write(_plain_response(status, reason, text))
        self.channel.transport.loseConnection()


def install_in_daphne() -> None:
    """Make Daphne build its HTTP requests from LimitedWebRequest (its factory looks the
    class up in daphne.http_protocol for every connection)."""
    http_protocol.WebRequest = LimitedWebRequest


# -- In the ASGI app, for servers that stream the body ---------------------------------------


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a Content-Length over HTTP_MAX_BODY_BYTES without reading the
    body, and for a streamed body as soon as it passes the limit."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.HTTP_MAX_BODY_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _respond(send, 413, too_large_text())
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _BodyTooLarge:
            if not started:
                await _respond(send, 413, too_large_text())


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # Daphne/twisted refuse a malformed length before we run
    return None


async def _respond(send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
