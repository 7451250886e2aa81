"""The product's ASGI app plus a trivial echo consumer at /ws/echo/: the benchmark's floor.

The echo consumer speaks the same ConversationRelay frames (prompt in, text tokens out) with
no engine, no database and no signature check, so the difference is our own work per turn.
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

from channels.generic.websocket import AsyncWebsocketConsumer

from receptionist.asgi import application as product


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data or "{}")
        if message.get("type") == "prompt" and message.get("last"):
            await self.send(
                json.dumps({"type": "text", "token": message["voicePrompt"], "last": False})
            )
            await self.send(json.dumps({"type": "text", "token": "", "last": True}))


echo = EchoConsumer.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"].startswith("/ws/echo/"):
        return await echo(scope, receive, send)
    return await product(scope, receive, send)
