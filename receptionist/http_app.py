"""Django's HTTP handling under Daphne, one thread hop per request.

Every view and middleware of this project is synchronous. Django's ASGI handler runs the
middleware in async mode anyway (they can do both) and so moves between the event loop and
a thread around each middleware method: about twenty hops for one Twilio webhook, most of
the CPU a webhook costs. This handler builds the middleware chain in sync mode, as Django's
WSGI handler does, and runs the whole chain and view in one hop (on the thread Django uses
for sync views); reading the request and sending the response stay Django's ASGI code.
"""

from __future__ import annotations

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class OneHopASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def http_application() -> OneHopASGIHandler:
    """What `django.core.asgi.get_asgi_application` is, with the handler above."""
    django.setup(set_prefix=False)
    return OneHopASGIHandler()
