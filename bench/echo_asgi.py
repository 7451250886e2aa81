"""The product's ASGI app plus the benchmark's own endpoints.

- /ws/echo/: a trivial echo consumer, the benchmark's floor. It speaks the same
  ConversationRelay frames (prompt in, text tokens out) with no engine, no database and no
  signature check, so the difference is our own work per turn.
- GET /bench/queries/: how many SQL statements this process has sent (bench/query_counter).
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

import query_counter
from channels.generic.websocket import AsyncWebsocketConsumer

from receptionist.asgi import application as product

query_counter.install()


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data or "{}")
        if message.get("type") == "prompt" and message.get("last"):
            await self.send(
                json.dumps({"type": "text", "token": message["voicePrompt"], "last": False})
            )
            await self.send(json.dumps({"type": "text", "token": "", "last": True}))


echo = EchoConsumer.as_asgi()


async def query_count(scope, receive, send):
    body = json.dumps({"queries": query_counter.count(), "pid": os.getpid()}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"].startswith("/ws/echo/"):
        return await echo(scope, receive, send)
    if scope["type"] == "http" and scope["path"] == "/bench/queries/":
        return await query_count(scope, receive, send)
    return await product(scope, receive, send)
