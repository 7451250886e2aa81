"""A loopback fake of an OpenAI-compatible chat-completions server, for our real model client.

    with FakeOpenAI() as fake:                     # fake.base_url: http://127.0.0.1:PORT/v1
        fake.script(
            Reply(["Let me ", "check."], tool("check_availability", service="Haircut", ...)),
            lambda request: Reply(words(f"Sorry. {request.tool_results()[-1]['explanation']}")),
            Fault.server_error(),
        )
        ...
        fake.requests[1].tool_results()            # what the model was told by our tools

POST /v1/chat/completions with `stream: true` answers like OpenAI: Server-Sent Events, each
`data: {chat.completion.chunk}` (the shapes in fixtures/chunk_*.json), text in
`choices[0].delta.content`, tool calls in `delta.tool_calls` (index, id and name first, the
JSON arguments split over several chunks), a last chunk with `finish_reason` "tool_calls" or
"stop", then `data: [DONE]`. Each request takes the next scripted response: a Reply, a
callable (request -> Reply) for a model that reacts to what it was sent, or a Fault (an HTTP
error such as 500, or 429 with Retry-After). A Reply can wait before its first chunk (ttft),
stream slowly (delay between chunks), stall after some chunks until the client gives up, or end
its body a moment after `data: [DONE]` (end_after_done);
the fake notices when the client closes the stream early.

Also a stand-in model for whole calls (BookingModel) and, for the benchmark, a server process:
    python -m calls.tests.llm.fake_openai --ttft 0.2      # prints its base URL, then serves
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import secrets
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
ARGUMENT_PIECE = 7  # characters of tool-call arguments per chunk, as models stream them
STALL_LIMIT_SECONDS = 30.0


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


CHUNK_FIRST = _fixture("chunk_first.json")
CHUNK_TEXT = _fixture("chunk_text.json")
CHUNK_TOOL_START = _fixture("chunk_tool_call_start.json")
CHUNK_TOOL_ARGUMENTS = _fixture("chunk_tool_call_arguments.json")
CHUNK_FINISH = _fixture("chunk_finish.json")
ERROR_RATE_LIMIT = _fixture("error_rate_limit.json")
ERROR_SERVER = _fixture("error_server.json")


@dataclass(frozen=True)
class ToolCallSpec:
    name: str
    arguments: str  # JSON text, as the model writes it
    id: str = ""


def tool(name: str, *, call_id: str = "", **arguments: Any) -> ToolCallSpec:
    return ToolCallSpec(name=name, arguments=json.dumps(arguments), id=call_id)


def words(text: str) -> list[str]:
    """Text in word-sized pieces, the way a model's tokens arrive."""
    return re.findall(r"\S+\s*|\s+", text)


class Reply:
    """One streamed answer: text pieces and tool calls, in order (lists are flattened, so
    `Reply(words("Let me check."), tool(...))` reads naturally)."""

    def __init__(
        self,
        *items: str | ToolCallSpec | list[str | ToolCallSpec],
        ttft: float = 0.0,  # seconds before the first chunk after the role chunk
        delay: float = 0.0,  # seconds between chunks
        stall_after: int | None = None,  # chunks sent before the stream goes silent
        end_after_done: float = 0.0,  # seconds between `data: [DONE]` and the body's end
    ) -> None:
        self.items: list[str | ToolCallSpec] = []
        for item in items:
            self.items.extend(item if isinstance(item, list) else [item])
        self.ttft = ttft
        self.delay = delay
        self.stall_after = stall_after
        self.end_after_done = end_after_done


@dataclass
class Fault:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls(status=status, body=copy.deepcopy(ERROR_SERVER))

    @classmethod
    def rate_limited(cls, retry_after: str = "20") -> Fault:
        return cls(
            status=429, body=copy.deepcopy(ERROR_RATE_LIMIT), headers={"Retry-After": retry_after}
        )


Script = Reply | Fault | Callable[["Request"], "Reply | Fault"]


@dataclass
class Request:
    path: str
    body: dict
    authorization: str
    received_at: float  # perf_counter
    peer: int = 0  # the client's port: the same for requests on a kept-alive connection
    first_chunk_at: float | None = None
    closed_early: bool = False  # the client hung up before the end of the stream
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def tools(self) -> list[dict]:
        return self.body.get("tools", [])

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools]

    def tool_results(self) -> list[dict]:
        """The tool results in the messages, parsed, oldest first."""
        return [json.loads(m["content"]) for m in self.messages if m["role"] == "tool"]

    def last_user_text(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


class ClientGone(Exception):
    pass


class FakeOpenAI:
    def __init__(
        self,
        *,
        default: Script | None = None,
        api_key: str = "test-llm-key",
        on_first_chunk: Callable[[Request], None] | None = None,
    ) -> None:
        self.api_key = api_key
        self.default = default  # answers requests once the script is used up (a model)
        # Told of each request once its first chunk after the role chunk has been sent.
        self.on_first_chunk = on_first_chunk
        self.requests: list[Request] = []
        self.unexpected: list[Request] = []
        self._script: deque[Script] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *responses: Script) -> None:
        with self._lock:
            self._script.extend(responses)

    @property
    def pending(self) -> int:
        return len(self._script)

    def _next(self, request: Request) -> Reply | Fault:
        with self._lock:
            self.requests.append(request)
            item = self._script.popleft() if self._script else self.default
        if item is None:
            self.unexpected.append(request)
            return Fault.server_error()
        return item(request) if callable(item) else item

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Each event is its own small write; without this, Nagle holds one back
                # until the client's delayed ACK (~40 ms), which model servers don't do.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                request = Request(
                    path=self.path,
                    body=json.loads(raw or b"{}"),
                    authorization=self.headers.get("Authorization", ""),
                    received_at=time.perf_counter(),
                    peer=self.client_address[1],
                )
                try:
                    if self.path.rstrip("/") != "/v1/chat/completions":
                        self._json(404, {"error": {"message": "Not found", "type": "invalid"}})
                        return
                    if request.authorization != f"Bearer {fake.api_key}":
                        self._json(401, {"error": {"message": "Bad key", "type": "invalid"}})
                        return
                    answer = fake._next(request)
                    if isinstance(answer, Fault):
                        self._json(answer.status, answer.body, answer.headers)
                    elif not request.body.get("stream"):
                        self._json(400, {"error": {"message": "Only streaming is faked"}})
                    else:
                        self._stream(request, answer)
                except ClientGone:
                    request.closed_early = True
                    self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    request.closed_early = True
                    self.close_connection = True
                finally:
                    request.finished.set()

            def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, request: Request, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                model = request.body.get("model", "")
                self._event(_chunk(CHUNK_FIRST, model))
                self._wait(reply.ttft)
                finish = "stop"
                for sent, chunk in enumerate(_chunks(reply, model)):
                    if reply.stall_after is not None and sent >= reply.stall_after:
                        self._wait(STALL_LIMIT_SECONDS)
                        return
                    if sent:
                        self._wait(reply.delay)
                    first = request.first_chunk_at is None
                    if first:
                        request.first_chunk_at = time.perf_counter()
                    self._event(chunk)
                    if first and fake.on_first_chunk is not None:
                        fake.on_first_chunk(request)
                    if chunk["choices"][0]["delta"].get("tool_calls"):
                        finish = "tool_calls"
                end = _chunk(CHUNK_FINISH, model)
                end["choices"][0]["finish_reason"] = finish
                self._event(end)
                self._write(b"data: [DONE]\n\n")
                self._wait(reply.end_after_done)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _event(self, chunk: dict) -> None:
                self._write(f"data: {json.dumps(chunk)}\n\n".encode())

            def _write(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _wait(self, seconds: float) -> None:
                """Sleep, but notice a client that hangs up meanwhile (EOF on its socket)."""
                deadline = time.monotonic() + seconds
                while (left := deadline - time.monotonic()) > 0:
                    readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                    if readable:
                        try:
                            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                                raise ClientGone
                        except (ConnectionResetError, OSError) as exc:
                            raise ClientGone from exc

        return Handler


def _chunk(template: dict, model: str) -> dict:
    chunk = copy.deepcopy(template)
    chunk["model"] = model or chunk["model"]
    chunk["created"] = int(time.time())
    return chunk


def _chunks(reply: Reply, model: str) -> list[dict]:
    chunks = []
    index = 0
    for item in reply.items:
        if isinstance(item, str):
            chunk = _chunk(CHUNK_TEXT, model)
            chunk["choices"][0]["delta"]["content"] = item
            chunks.append(chunk)
            continue
        start = _chunk(CHUNK_TOOL_START, model)
        call = start["choices"][0]["delta"]["tool_calls"][0]
        call["index"] = index
        call["id"] = item.id or f"call_{secrets.token_hex(12)}"
        call["function"]["name"] = item.name
        chunks.append(start)
        for at in range(0, len(item.arguments), ARGUMENT_PIECE):
            piece = _chunk(CHUNK_TOOL_ARGUMENTS, model)
            part = piece["choices"][0]["delta"]["tool_calls"][0]
            part["index"] = index
            part["function"]["arguments"] = item.arguments[at : at + ARGUMENT_PIECE]
            chunks.append(piece)
        index += 1
    return chunks


# -- A stand-in model for whole calls ---------------------------------------------------------

_SERVICE = re.compile(r"\b(haircut|beard trim|manicure|hair colouring)\b", re.I)
_WHEN = re.compile(r"\b(?:on|for)\s+(.+?)\s*[?.!]*$", re.I)
_NAME = re.compile(r"\bthis is ([A-Z][a-z]+(?: \d+)?)")
_YES = re.compile(r"^\s*(yes|yeah|yep|sure|please do)\b", re.I)


class BookingModel:
    """Books what the caller asks for, the way a well-behaved model would, deciding from the
    request alone (so any number of calls can share it): check, read back, book on a yes.
    Every answer starts with text, so a turn's first token costs exactly one `ttft`."""

    def __init__(self, *, ttft: float = 0.0, delay: float = 0.0) -> None:
        self.ttft = ttft
        self.delay = delay

    def __call__(self, request: Request) -> Reply:
        messages = request.messages
        last = messages[-1]
        if last["role"] == "tool":
            return self._after_tool(messages, json.loads(last["content"]))
        said = last.get("content") or ""
        checked = self._last_result(messages, "check_availability")
        if _YES.search(said) and checked and checked[1].get("available"):
            args, result = checked
            return self._reply(
                "Great, booking that now.",
                tool(
                    "book",
                    service=args["service"],
                    start=result["start"],
                    customer_name=self._name(messages),
                ),
            )
        service, when = _SERVICE.search(said), _WHEN.search(said)
        if service and when:
            return self._reply(
                "Let me check that for you.",
                tool("check_availability", service=service.group(1), start=when.group(1)),
            )
        return self._reply("What would you like to book, and when?")

    def _after_tool(self, messages: list[dict], result: dict) -> Reply:
        name = self._tool_name(messages, messages[-1]["tool_call_id"])
        if "error" in result:
            return self._reply("Sorry, could you tell me that again?")
        if name == "check_availability" and result.get("available"):
            return self._reply(
                f"I have {result['say']} free for a {result['service'].lower()}. "
                f"Shall I book it for {self._name(messages)}?"
            )
        if name == "check_availability":
            offers = result.get("say_alternatives") or "another day"
            return self._reply(f"{result['explanation']} I can do {offers}. Which would you like?")
        if name == "book" and result.get("booked"):
            return self._reply(
                f"You're all set for {result['say']}. I'll text you a confirmation. Goodbye!"
            )
        return self._reply(f"{result.get('explanation', 'Sorry, that did not work.')}")

    def _reply(self, text: str, *calls: ToolCallSpec) -> Reply:
        return Reply(words(text), *calls, ttft=self.ttft, delay=self.delay)

    @staticmethod
    def _name(messages: list[dict]) -> str:
        for message in messages:
            if message["role"] == "user" and (found := _NAME.search(message["content"] or "")):
                return found.group(1)
        return "you"

    @staticmethod
    def _tool_name(messages: list[dict], call_id: str) -> str:
        for message in messages:
            for call in message.get("tool_calls") or ():
                if call["id"] == call_id:
                    return call["function"]["name"]
        return ""

    def _last_result(self, messages: list[dict], name: str) -> tuple[dict, dict] | None:
        for i in range(len(messages) - 1, -1, -1):
            message = messages[i]
            if message["role"] != "tool":
                continue
            if self._tool_name(messages, message["tool_call_id"]) != name:
                continue
            for earlier in messages[:i]:
                for call in earlier.get("tool_calls") or ():
                    if call["id"] == message["tool_call_id"]:
                        return json.loads(call["function"]["arguments"]), json.loads(
                            message["content"]
                        )
        return None


def first_token_log(path: str) -> Callable[[Request], None]:
    """For the benchmark: each turn's first request (the one answering the caller's words)
    appends a JSON line to `path`: the caller's first words, which turn, and this fake's own
    time to first token (the request read -> its first chunk after the role chunk sent),
    so the benchmark subtracts what the stand-in model really took, and nothing else."""
    lock = threading.Lock()

    def record(request: Request) -> None:
        messages = request.messages
        if not messages or messages[-1].get("role") != "user":
            return  # a tool round, not the turn's first request
        said = [m.get("content") or "" for m in messages if m.get("role") == "user"]
        seconds = request.first_chunk_at - request.received_at
        line = json.dumps({"first_words": said[0], "turn": len(said), "seconds": seconds})
        with lock, open(path, "a") as log:
            log.write(line + "\n")

    return record


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake with BookingModel.")
    parser.add_argument("--ttft", type=float, default=0.2, help="seconds to the first token")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--api-key", default="bench-llm-key")
    parser.add_argument("--first-tokens", help="log each turn's time to first token here")
    args = parser.parse_args()
    fake = FakeOpenAI(
        default=BookingModel(ttft=args.ttft, delay=args.delay),
        api_key=args.api_key,
        on_first_chunk=first_token_log(args.first_tokens) if args.first_tokens else None,
    )
    with fake:
        print(fake.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
