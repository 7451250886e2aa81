"""The body limit around the ASGI app, for servers that stream a body to the app (issue 10,
item 10; the Daphne side is in test_request_limits_live.py)."""

from __future__ import annotations

import pytest

from receptionist.request_limits import BodyLimitMiddleware

LIMIT = 1000


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.HTTP_MAX_BODY_BYTES = LIMIT


class Recorder:
    def __init__(self, chunks: list[bytes]):
        self.chunks = list(chunks)
        self.received = 0
        self.sent: list[dict] = []

    async def receive(self):
        self.received += 1
        body = self.chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}

    async def send(self, message):
        self.sent.append(message)


async def reading_app(scope, receive, send):
    """Like Django: read the whole body, then answer."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def scope(*headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "method": "POST", "path": "/voice/", "headers": list(headers)}


async def test_a_declared_length_over_the_limit_is_refused_without_reading():
    client = Recorder([b"x" * 10])

    await BodyLimitMiddleware(reading_app)(
        scope((b"content-length", b"209715200")), client.receive, client.send
    )

    assert client.received == 0
    assert client.sent[0]["status"] == 413
    assert b"at most 1000 bytes" in client.sent[1]["body"]


async def test_a_streamed_body_is_cut_off_as_it_passes_the_limit():
    client = Recorder([b"x" * 400] * 100)

    await BodyLimitMiddleware(reading_app)(scope(), client.receive, client.send)

    assert client.received == 3  # 1200 bytes: the third chunk passed the limit
    assert [m["status"] for m in client.sent if "status" in m] == [413]


async def test_a_body_within_the_limit_reaches_the_app():
    client = Recorder([b"x" * 400, b"x" * 600])

    await BodyLimitMiddleware(reading_app)(
        scope((b"content-length", b"1000")), client.receive, client.send
    )

    assert client.sent[0]["status"] == 200
