"""Django's HTTP handling under Daphne, one thread hop per request.

Every view and middleware of this project is synchronous. Django's ASGI handler runs the
middleware in async mode anyway (they can do both) and so moves between the event loop and
a thread around each middleware method: about twenty hops for one Twilio webhook, most of
the CPU a webhook costs. Around the view it hops three more times (the request_started
signal, the response, the response's close with request_finished), each time on a thread
it starts for that one request (its ThreadSensitiveContext), where Django also builds a new
database connection wrapper.

This handler builds the middleware chain in sync mode, as Django's WSGI handler does, and
does all of a request's sync work in one hop on a pool thread that lives on
(`bookings.orm.run_blocking`: a slow page never holds up a call's database work on
SQLite's one ORM thread): request_started, the middleware and view, and, for a response that
is already in memory (every one but a file or a stream), its close with request_finished,
which hands the thread's database connection back. Reading the request body and sending the
response stay Django's ASGI code.
"""

from __future__ import annotations

from typing import Any

import django
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpResponseBase
from django.urls import set_script_prefix

from bookings.orm import run_blocking


class OneHopASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await run_blocking(self._respond)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await run_blocking(response.close)()
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """Everything synchronous about one request, on one thread."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
        if not response.streaming:
            response.close()  # request_finished: this thread's connections go back
        return response


def http_application() -> OneHopASGIHandler:
    """What `django.core.asgi.get_asgi_application` is, with the handler above."""
    django.setup(set_prefix=False)
    return OneHopASGIHandler()
