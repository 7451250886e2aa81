"""The protocol router: one place that says which socket goes where."""

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

from calls.routing import websocket_urlpatterns as relay_patterns
from calls.simulator.routing import websocket_urlpatterns as simulator_patterns

application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        # Twilio's socket carries no Origin (no Origin validator there); the simulator's
        # patterns come wrapped in AllowedHostsOriginValidator + AuthMiddlewareStack.
        "websocket": URLRouter([*relay_patterns, *simulator_patterns]),
    }
)
