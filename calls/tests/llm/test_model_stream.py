"""The model's stream as servers really send it: Server-Sent Events with CRLF line ends,
comments, a usage chunk, events cut across network writes, and errors reported mid-stream.
A raw loopback server writes the exact bytes (the fake in fake_openai.py writes one tidy
shape)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from calls.dialogue.llm.client import (
    LLMConfig,
    ModelClient,
    ModelUnavailable,
    TextDelta,
    ToolCallDelta,
    close_clients,
)


def chunk(delta: dict | None = None, *, choices: list | None = None, **extra) -> dict:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}]
        if choices is None
        else choices,
        **extra,
    }


def event(data: dict | str, end: bytes = b"\n") -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return b"data: " + text.encode() + end + end


@pytest.fixture
async def server() -> AsyncIterator[tuple[list[list[bytes]], str]]:
    """A model server that answers each request with the next list of writes (raw bytes of
    the body, written one by one, then the connection closed)."""
    answers: list[list[bytes]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        for write in answers.pop(0):
            writer.write(write)
            await writer.drain()
            await asyncio.sleep(0.01)  # separate network writes
        writer.close()

    listening = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    yield answers, f"http://127.0.0.1:{port}/v1"
    await close_clients()
    listening.close()


async def read_all(base_url: str) -> list[TextDelta | ToolCallDelta]:
    config = LLMConfig(base_url=base_url, api_key="k", model="m", timeout=2.0, max_retries=0)
    stream = ModelClient(config).stream(messages=[{"role": "user", "content": "Hi"}], tools=[])
    return [delta async for delta in stream]


async def test_crlf_comments_usage_and_events_cut_across_writes_read_as_sent(server):
    answers, base_url = server
    text = event(chunk({"content": "Hello there."}), end=b"\r\n")
    tool_start = chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "check_availability", "arguments": ""},
                }
            ]
        }
    )
    tool_arguments = chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":1}'}}]})
    answers.append(
        [
            b": keep-alive\r\n\r\n",
            event(chunk({"role": "assistant", "content": ""}), end=b"\r\n"),
            text[:25],  # an event cut mid-line by the network
            text[25:],
            event(tool_start, end=b"\r\n"),
            event(tool_arguments, end=b"\r\n"),
            event(chunk({}, finish_reason="tool_calls"), end=b"\r\n"),
            event(chunk(choices=[], usage={"total_tokens": 9}), end=b"\r\n"),
            b"data: [DONE]\r\n\r\n",
        ]
    )
    assert await read_all(base_url) == [
        TextDelta("Hello there."),
        ToolCallDelta(index=0, id="call_1", name="check_availability"),
        ToolCallDelta(index=0, arguments='{"a":1}'),
    ]


async def test_an_error_reported_mid_stream_ends_the_answer_as_unavailable(server):
    answers, base_url = server
    answers.append(
        [
            event(chunk({"content": "Let me see."})),
            event({"error": {"message": "The server had an error", "type": "server_error"}}),
        ]
    )
    with pytest.raises(ModelUnavailable) as failure:
        await read_all(base_url)
    assert failure.value.reason == "the model server reported an error mid-stream"


async def test_a_stream_that_is_not_json_is_unreadable(server):
    answers, base_url = server
    answers.append([event(chunk({"content": "Hi"})), b"data: <html>Bad gateway</html>\n\n"])
    with pytest.raises(ModelUnavailable) as failure:
        await read_all(base_url)
    assert failure.value.reason == "unreadable stream from the model"
