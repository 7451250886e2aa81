"""The simulator socket's route, wrapped in what a browser-facing socket needs.

Unlike Twilio's ConversationRelay socket (signed, no cookies, no Origin), this one is opened by
a logged-in browser: the Django session says who it is, and the Origin must be exactly ours
(scheme, host and port) so another site cannot open it with the staff member's cookies. The
wrapping lives here, next to the route that needs it, so the project router only concatenates.
"""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from calls.simulator.consumers import SimulatorConsumer
from calls.simulator.origin import ExactOriginValidator

websocket_urlpatterns = [
    path(
        "ws/simulator/<slug:slug>/",
        ExactOriginValidator(AuthMiddlewareStack(SimulatorConsumer.as_asgi())),
        name="simulator-socket",
    ),
]
