"""The model's stream as servers really send it: Server-Sent Events with CRLF line ends,
comments, a usage chunk, events cut across network writes, and errors reported mid-stream.
A raw loopback server writes the exact bytes (the fake in fake_openai.py writes one tidy
shape). Then, against the fake: retries, error answers, kept-alive connections, interrupts."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator

import pytest

from calls.dialogue.llm import client as client_module
from calls.dialogue.llm.client import (
    LLMConfig,
    ModelClient,
    ModelUnavailable,
    TextDelta,
    ToolCallDelta,
    ToolDefinitions,
    close_clients,
)
from calls.tests.llm.fake_openai import FakeOpenAI, Fault, Reply, words


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


# -- Against the fake model server: retries, error answers, connections ----------------------


def client_for(fake: FakeOpenAI) -> ModelClient:
    return ModelClient(
        LLMConfig(
            base_url=fake.base_url, api_key=fake.api_key, model="m", timeout=2.0, max_retries=1
        )
    )


async def answer(client: ModelClient, tools=()) -> str:
    stream = client.stream(messages=[{"role": "user", "content": "Hi"}], tools=tools)
    return "".join([delta.text async for delta in stream if isinstance(delta, TextDelta)])


def refusal(status: int, headers: dict | None = None, **error) -> Fault:
    return Fault(status=status, body={"error": {"message": "No.", **error}}, headers=headers or {})


async def test_retry_after_ms_is_read_before_retry_after(fake):
    fake.script(refusal(429, {"retry-after-ms": "50", "Retry-After": "20"}), Reply(words("Hello.")))
    assert await answer(client_for(fake)) == "Hello."
    assert len(fake.requests) == 2


async def test_a_retry_after_date_already_past_is_retried_at_once(fake):
    past = email.utils.formatdate(time.time() - 5, usegmt=True)
    fake.script(refusal(503, {"Retry-After": past}), Reply(words("Hello.")))
    assert await answer(client_for(fake)) == "Hello."
    assert len(fake.requests) == 2


async def test_a_retry_after_date_further_off_than_a_second_is_not_waited_for(fake):
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake.script(refusal(503, {"Retry-After": later}, type="server_error"))
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as failure:
        await answer(client_for(fake))
    assert time.perf_counter() - started < 1
    assert failure.value.reason == "the model server answered 503 (type: server_error)"
    assert len(fake.requests) == 1


async def test_a_wait_over_a_second_is_not_waited_for(fake):
    fake.script(refusal(429, {"retry-after-ms": "1500"}, code="rate_limit_exceeded"))
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as failure:
        await answer(client_for(fake))
    assert time.perf_counter() - started < 1
    assert (
        failure.value.reason == "the model server rate-limited us (429; code: rate_limit_exceeded)"
    )
    assert len(fake.requests) == 1


async def test_the_error_code_and_type_say_why_but_never_the_message(fake):
    fake.script(
        refusal(
            400,
            message="This model's maximum context length is 128000 tokens (key sk-abc...xyz)",
            type="invalid_request_error",
            param="messages",
            code="context_length_exceeded",
        )
    )
    with pytest.raises(ModelUnavailable) as failure:
        await answer(client_for(fake))
    assert failure.value.reason == (
        "the model server answered 400 (code: context_length_exceeded, type: invalid_request_error)"
    )
    assert len(fake.requests) == 1, "a bad request is not retried"


async def test_a_wrong_key_and_an_unknown_path_say_so(fake):
    wrong_key = ModelClient(
        LLMConfig(base_url=fake.base_url, api_key="sk-wrong", model="m", timeout=2.0, max_retries=1)
    )
    with pytest.raises(ModelUnavailable) as failure:
        await answer(wrong_key)
    assert failure.value.reason == "the model server answered 401 (type: invalid)"
    assert "sk-" not in failure.value.reason and "Bad key" not in failure.value.reason
    not_found = ModelClient(
        LLMConfig(
            base_url=fake.base_url + "/nope",
            api_key=fake.api_key,
            model="m",
            timeout=2.0,
            max_retries=1,
        )
    )
    with pytest.raises(ModelUnavailable) as failure:
        await answer(not_found)
    assert failure.value.reason == "the model server answered 404 (type: invalid)"


async def test_an_error_body_that_is_not_openais_shape_gives_the_status_alone(fake):
    fake.script(
        Fault(status=502, body={"detail": "upstream <b>down</b>"}),
        Fault(status=502, body={"error": {"code": "<script>"}}),
    )
    with pytest.raises(ModelUnavailable) as failure:
        await answer(client_for(fake))
    assert failure.value.reason == "the model server answered 502"


async def test_no_more_than_4_kb_of_an_error_answer_is_read(fake):
    fake.script(refusal(400, message="x" * 5000, code="context_length_exceeded"))
    with pytest.raises(ModelUnavailable) as failure:
        await answer(client_for(fake))
    assert failure.value.reason == "the model server answered 400"  # cut short: not JSON


async def test_a_request_timeout_408_is_retried_once(fake):
    fake.script(refusal(408, type="timeout"), Reply(words("Hello.")))
    assert await answer(client_for(fake)) == "Hello."
    assert len(fake.requests) == 2


async def test_the_server_says_whether_to_retry(fake):
    fake.script(refusal(500, {"x-should-retry": "false"}, type="server_error"))
    with pytest.raises(ModelUnavailable):
        await answer(client_for(fake))
    assert len(fake.requests) == 1
    fake.script(refusal(400, {"x-should-retry": "true"}), Reply(words("Hello.")))
    assert await answer(client_for(fake)) == "Hello."
    assert len(fake.requests) == 3


async def test_the_connection_is_kept_for_the_next_request_after_done(fake):
    # The body's end comes a moment after [DONE]: waited for, the connection stays usable.
    fake.script(Reply(words("One."), end_after_done=0.05), Reply(words("Two.")))
    client = client_for(fake)
    assert await answer(client) == "One."
    assert await answer(client) == "Two."
    first, second = fake.requests
    assert first.finished.wait(1) and not first.closed_early
    assert first.peer == second.peer, "a new connection for each request"


async def test_an_interrupt_hangs_up_so_the_model_stops(fake):
    fake.script(Reply(words("Well, let me tell you all about our services today."), delay=0.2))
    stream = client_for(fake).stream(messages=[{"role": "user", "content": "Hi"}], tools=[])
    assert await anext(stream) == TextDelta("Well, ")
    await stream.aclose()  # the caller spoke over the answer
    # Waited for off the loop: the socket is closed on the loop's next turn.
    assert await asyncio.to_thread(fake.requests[0].finished.wait, 1)
    assert fake.requests[0].closed_early


async def test_tool_definitions_are_sent_as_they_are_when_sent(fake):
    fake.script(Reply(words("One.")), Reply(words("Two.")), Reply(words("Three.")))
    client = client_for(fake)
    definitions = [{"type": "function", "function": {"name": "first"}}]
    fixed = ToolDefinitions(definitions)
    await answer(client, definitions)
    definitions.append({"type": "function", "function": {"name": "second"}})
    await answer(client, definitions)  # the same list, changed in place
    await answer(client, fixed)  # made before the change: keeps what it was made from
    assert [request.tool_names for request in fake.requests] == [
        ["first"],
        ["first", "second"],
        ["first"],
    ]
    with pytest.raises(AttributeError):
        fixed.json = "[]"


async def test_close_clients_forgets_the_loops_sessions(fake):
    fake.script(Reply(words("Hello.")))
    await answer(client_for(fake))
    loop = asyncio.get_running_loop()
    sessions = list(client_module._sessions[loop].values())
    await close_clients()
    assert loop not in client_module._sessions
    assert all(session.closed for session in sessions)


def test_a_stopped_loops_sessions_are_closed_at_exit_and_a_closed_loops_forgotten():
    config = LLMConfig(
        base_url="http://127.0.0.1:9/v1", api_key="", model="m", timeout=1.0, max_retries=0
    )

    async def open_session():
        return client_module._session_for(config)

    closed, stopped = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        closed.run_until_complete(open_session())
        closed.close()  # a loop closed without close_clients(): forgotten by the next loop
        kept = stopped.run_until_complete(open_session())  # Daphne's loop, once it has stopped
        assert closed not in client_module._sessions
        client_module._close_at_exit()
        assert kept.closed and stopped not in client_module._sessions
    finally:
        stopped.close()
