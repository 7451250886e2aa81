"""The protocol router: one place that says which socket goes where."""

import logging

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import re_path

from calls.routing import websocket_urlpatterns as relay_patterns
from calls.simulator.routing import websocket_urlpatterns as simulator_patterns
from receptionist.http_app import http_application

logger = logging.getLogger(__name__)


class NoSuchSocket(AsyncWebsocketConsumer):
    """Any other WebSocket path: refused (HTTP 403) with one log line. Without it the router
    raises for every stray path, and Daphne answers 500 with a traceback per request."""

    async def connect(self) -> None:
        logger.info("Refused a WebSocket to an unknown path: %.100r", self.scope.get("path"))
        await self.close()


application = ProtocolTypeRouter(
    {
        "http": http_application(),
        # Twilio's socket carries no Origin (no Origin validator there); the simulator's
        # patterns come wrapped in an exact Origin check + AuthMiddlewareStack.
        "websocket": URLRouter(
            [*relay_patterns, *simulator_patterns, re_path(r"", NoSuchSocket.as_asgi())]
        ),
    }
)
