"""WebSocket routes of the call loop."""

websocket_urlpatterns: list = []
