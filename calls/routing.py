"""WebSocket routes of the call loop.

The Twilio route is not wrapped in an Origin validator: Twilio sends no Origin header, and
the handshake's X-Twilio-Signature is what authenticates it.
"""

from django.urls import re_path

from calls.consumers import ConversationRelayConsumer

websocket_urlpatterns: list = [
    re_path(
        r"^ws/voice/(?P<slug>[-a-zA-Z0-9_]+)/(?P<call_sid>[A-Za-z0-9_-]{1,64})/$",
        ConversationRelayConsumer.as_asgi(),
    ),
]
