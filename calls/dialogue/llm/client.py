"""The one seam to the model: a streamed chat completion from an OpenAI-compatible server.

LLM_BASE_URL, LLM_API_KEY and LLM_MODEL (or the business's own model) say which server and
model; OpenAI, Groq, vLLM and Ollama all speak this API. Timeouts and the retry budget live
here. On a phone call a long silence is worse than a simpler receptionist, so there is at most
one quick retry, never a long Retry-After wait, and every failure comes out as
ModelUnavailable, for the engine to hand the call to the embedded receptionist.

The request is one POST to `{base_url}/chat/completions` with `"stream": true`; the answer is
Server-Sent Events, each `data:` line one `chat.completion.chunk` (JSON), ended by
`data: [DONE]`. We speak it with aiohttp and `json` rather than the `openai` SDK: the SDK
rebuilds and validates every request through its type machinery and turns every chunk into
pydantic objects, which cost more event-loop time per turn than the rest of our turn
together, and every call shares that one loop.
"""

from __future__ import annotations

import asyncio
import atexit
import email.utils
import json
import logging
import re
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

if TYPE_CHECKING:
    from bookings.models import Business

logger = logging.getLogger(__name__)

# A Retry-After longer than this is not waited for: the caller is on the line.
MAX_RETRY_WAIT_SECONDS = 1.0
RETRY_BACKOFF_SECONDS = 0.2
OPENAI_HOST = "api.openai.com"
# After `data: [DONE]` only the end of the HTTP body is left; waiting this long for it keeps
# the connection for the next request, giving up closes it.
DRAIN_SECONDS = 0.25
# A line of the stream longer than this is not a chunk a model writes.
MAX_LINE_BYTES = 1 << 20
# As many connections to the model server as the openai SDK allowed.
MAX_CONNECTIONS = 1000
# Of an error answer's body, only this much is read (for its error code and type).
MAX_ERROR_BYTES = 4096
# An error code or type as OpenAI-compatible servers write them ("context_length_exceeded",
# "invalid_request_error", 400): anything else is not recorded.
_ERROR_WORD = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# Statuses retried (as the SDK did) unless the server says otherwise (x-should-retry).
RETRIED_STATUSES = frozenset({408, 409, 429})

TIMED_OUT = "the model timed out"
RATE_LIMITED = "the model server rate-limited us (429)"
NO_CONNECTION = "could not connect to the model server"
ERROR_MID_STREAM = "the model server reported an error mid-stream"
UNREADABLE = "unreadable stream from the model"


class ModelUnavailable(Exception):
    """The model could not answer (timeout, rate limit, server error, unusable reply).
    `reason` is short, safe to record on the Call: no secrets, no response bodies (of an
    error answer only its `error.code` and `error.type`, never the message: a 401's message
    echoes part of the key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    api_key: str = field(repr=False)
    model: str
    timeout: float
    max_retries: int

    @property
    def configured(self) -> bool:
        """OpenAI's own API needs a key; a local server (vLLM, Ollama) usually takes none."""
        return bool(self.api_key) or urlsplit(self.base_url).hostname != OPENAI_HOST


def llm_config(*, business: Business) -> LLMConfig:
    """The settings, with the business's model override (ReceptionistSettings.llm_model).
    Reads the database unless the business was loaded with its settings (`settings_loaded`:
    a call's context is, once, when the call starts)."""
    from calls.models import ReceptionistSettings

    if settings_loaded(business):
        try:
            override = business.receptionist_settings.llm_model
        except ReceptionistSettings.DoesNotExist:
            override = ""
    else:
        override = (
            ReceptionistSettings.objects.filter(business=business)
            .values_list("llm_model", flat=True)
            .first()
        )
    return LLMConfig(
        base_url=settings.LLM_BASE_URL,
        api_key=settings.LLM_API_KEY,
        model=(override or "").strip() or settings.LLM_MODEL,
        timeout=settings.LLM_TIMEOUT_SECONDS,
        max_retries=max(0, settings.LLM_MAX_RETRIES),
    )


def settings_loaded(business: Business) -> bool:
    """Whether the business came with its ReceptionistSettings (select_related), or with
    the knowledge that it has none: then `llm_config` needs no database."""
    return type(business).receptionist_settings.is_cached(business)


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call: the first piece of each call carries its id and name, the
    arguments (a JSON string) arrive in pieces; `index` says which call a piece belongs to."""

    index: int | None  # None from servers that send each call whole
    id: str = ""
    name: str = ""
    arguments: str = ""


# One HTTP session per event loop and server: calls share its connection pool. Sessions are
# bound to the loop they first ran on (Daphne has one; tests have one per test). A plain
# dict, not weak (a session holds its loop: a weak key would never be dropped). A loop's
# entry goes when close_clients() runs on it (the LLM tests' fixtures do), at exit for a loop
# that has stopped (Daphne has no shutdown hook for apps; _close_at_exit), or, for a loop
# closed without either, when a new loop first asks for a session.
_sessions: dict[asyncio.AbstractEventLoop, dict[tuple, aiohttp.ClientSession]] = {}


def _session_for(config: LLMConfig) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    per_loop = _sessions.get(loop)
    if per_loop is None:
        for closed in [other for other in _sessions if other.is_closed()]:
            del _sessions[closed]  # nothing can close its sessions any more
        per_loop = _sessions[loop] = {}
    key = (config.base_url, config.api_key, config.timeout)
    session = per_loop.get(key)
    if session is None or session.closed:
        session = per_loop[key] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            # Connecting (and waiting for a free connection), and every read of the answer:
            # each may take the whole timeout, as with the SDK; the answer as a whole may not
            # be cut short, a model can write for a while.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=config.timeout, sock_read=config.timeout
            ),
            headers={
                # Local servers ignore the key, but send one as the SDK did.
                "Authorization": f"Bearer {config.api_key or 'no-key'}",
                "Content-Type": "application/json",
                "Accept": "text/event-stream",
            },
        )
    return session


async def close_clients() -> None:
    """Close this loop's sessions (tests, and anything that stops a loop it ran calls on)."""
    await _close_loop_sessions(asyncio.get_running_loop())


@atexit.register
def _close_at_exit() -> None:
    """Close the sessions of loops that have stopped (Daphne's, once it has shut down): left
    to the garbage collector at exit, each is logged as an error ("Unclosed client session")."""
    for loop in list(_sessions):
        if not loop.is_closed() and not loop.is_running():
            try:
                loop.run_until_complete(_close_loop_sessions(loop))
            except Exception:
                logger.debug("Closing the model sessions at exit failed", exc_info=True)
        _sessions.pop(loop, None)


async def _close_loop_sessions(loop: asyncio.AbstractEventLoop) -> None:
    for session in _sessions.pop(loop, {}).values():
        await session.close()


class ToolDefinitions:
    """The tools offered to the model, fixed when made: encoded to JSON once (every request
    of every call sends them), so changing the definitions they were made from afterwards
    changes nothing that is sent. `definitions()` gives a fresh copy."""

    __slots__ = ("json",)

    def __init__(self, definitions: Sequence[Mapping[str, Any]]) -> None:
        self.json: str = _compact(list(definitions))

    def __bool__(self) -> bool:
        return self.json != "[]"

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError("tool definitions are fixed once made")
        super().__setattr__(name, value)

    def definitions(self) -> list[dict[str, Any]]:
        return json.loads(self.json)


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class ModelClient:
    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._proxy = _env_proxy(self._url)
        # The parts of the request that stay the same for the whole call, encoded once.
        self._head = '{"model":' + json.dumps(config.model) + ',"stream":true'

    async def stream(
        self, *, messages: Sequence[dict[str, Any]], tools: ToolDefinitions | Sequence[dict]
    ) -> AsyncIterator[TextDelta | ToolCallDelta]:
        """The model's answer as it is written. Closing this iterator early (an interrupt)
        closes the HTTP response at once, so the server stops generating."""
        response = await self._open(self._body(messages, tools))
        events = _EventReader()
        done = False
        try:
            async for block in response.content.iter_any():
                for data in events.feed(block):
                    if data.startswith("[DONE]"):
                        done = True
                        break
                    for delta in _deltas(data):
                        yield delta
                if done:
                    break
            else:
                done = True  # the server ended the stream without [DONE]
        except TimeoutError as exc:
            raise ModelUnavailable(TIMED_OUT) from exc
        except aiohttp.ClientError as exc:
            raise ModelUnavailable(NO_CONNECTION) from exc
        except UnicodeDecodeError as exc:
            raise ModelUnavailable(UNREADABLE) from exc
        finally:
            if done:
                await _release(response)
            else:
                response.close()  # an interrupt or a failure: hang up, the model stops

    def _body(
        self, messages: Sequence[dict[str, Any]], tools: ToolDefinitions | Sequence[dict]
    ) -> bytes:
        parts = [self._head, ',"messages":', json.dumps(messages, separators=(",", ":"))]
        if tools:
            # Fixed definitions were encoded once; anything else is encoded as it is now.
            encoded = tools.json if isinstance(tools, ToolDefinitions) else _compact(tools)
            parts += [',"tools":', encoded]
        parts.append("}")
        return "".join(parts).encode()

    async def _open(self, body: bytes) -> aiohttp.ClientResponse:
        session = _session_for(self.config)
        attempt = 0
        while True:
            try:
                response = await session.post(
                    self._url, data=body, allow_redirects=False, proxy=self._proxy
                )
            except TimeoutError as exc:
                # The caller has already waited a whole timeout: don't make it two.
                raise ModelUnavailable(TIMED_OUT) from exc
            except aiohttp.ClientError as exc:
                if attempt >= self.config.max_retries:
                    raise ModelUnavailable(NO_CONNECTION) from exc
                wait = RETRY_BACKOFF_SECONDS
            else:
                status = response.status
                if 200 <= status < 300:
                    return response
                reason = _status_reason(status, await _error_of(response))
                if not _should_retry(status, response.headers):
                    raise ModelUnavailable(reason)
                wait = _retry_wait(response.headers)
                if attempt >= self.config.max_retries or wait is None:
                    raise ModelUnavailable(reason)
            attempt += 1
            logger.info("The model server refused; retrying in %.2f s", wait)
            await asyncio.sleep(wait)


class _EventReader:
    """Server-Sent Events from the bytes of a stream: `feed` returns the data of each event
    completed so far (its `data:` lines joined). Lines end in LF or CRLF, a blank line ends
    an event, `:` starts a comment; the other fields (`event:`, `id:`, `retry:`) are not
    needed here. An event cut off by the end of the stream is dropped."""

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[str] = []

    def feed(self, block: bytes) -> list[str]:
        *lines, self._pending = (self._pending + block).split(b"\n")
        if len(self._pending) > MAX_LINE_BYTES:
            raise ModelUnavailable(UNREADABLE)
        events = []
        for raw in lines:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append((value[1:] if value.startswith(b" ") else value).decode())
            elif line == b"data":
                self._data.append("")
        return events


def _deltas(data: str) -> list[TextDelta | ToolCallDelta]:
    """What one `chat.completion.chunk` adds to the answer."""
    try:
        chunk = json.loads(data)
        if chunk.get("error"):
            raise ModelUnavailable(ERROR_MID_STREAM)
        choices = chunk.get("choices")
        if not choices:
            return []  # e.g. the usage chunk
        delta = choices[0].get("delta")
        if not delta:
            return []
        deltas: list[TextDelta | ToolCallDelta] = []
        if content := delta.get("content"):
            deltas.append(TextDelta(content))
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            deltas.append(
                ToolCallDelta(
                    index=call.get("index"),
                    id=call.get("id") or "",
                    name=function.get("name") or "",
                    arguments=function.get("arguments") or "",
                )
            )
        return deltas
    except (ValueError, AttributeError, LookupError, TypeError) as exc:
        # Not JSON (UnicodeDecodeError is a ValueError too), or not a chunk's shape.
        raise ModelUnavailable(UNREADABLE) from exc


async def _release(response: aiohttp.ClientResponse) -> None:
    """Hand a finished response's connection back to the pool: read what is left of the
    body (nothing but its end) first, or aiohttp closes the connection instead."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            await response.read()
    except (TimeoutError, aiohttp.ClientError):
        response.close()
    else:
        response.release()


def _env_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as the
    SDK honoured them. Read once per call: aiohttp's own `trust_env` reads the environment
    and ~/.netrc again on a worker thread for every request."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not parts.hostname or urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        return None
    return proxies.get(parts.scheme)


async def _error_of(response: aiohttp.ClientResponse) -> tuple[str, str]:
    """The `error.code` and `error.type` of an error answer (OpenAI's shape:
    {"error": {"message", "type", "param", "code"}}), from at most its first
    MAX_ERROR_BYTES; ("", "") when there are none. The response is closed."""
    body = b""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while len(body) < MAX_ERROR_BYTES:
                piece = await response.content.read(MAX_ERROR_BYTES - len(body))
                if not piece:
                    break
                body += piece
    except (TimeoutError, aiohttp.ClientError):
        pass  # what came in time is read
    finally:
        response.close()
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return "", ""
    if not isinstance(error, dict):
        return "", ""
    return _error_word(error.get("code")), _error_word(error.get("type"))


def _error_word(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value)
    return text if _ERROR_WORD.fullmatch(text) else ""


def _should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """As the SDK decided: the server's `x-should-retry` first, else 408, 409, 429, 5xx."""
    said = headers.get("x-should-retry", "").strip().lower()
    if said in ("true", "false"):
        return said == "true"
    return status in RETRIED_STATUSES or status >= 500


def _retry_wait(headers: Mapping[str, str]) -> float | None:
    """How long to wait before the one retry; None: too long for a caller on the line.
    Retry-After is seconds or an HTTP date (a date already past: at once)."""
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            try:
                seconds = max(
                    0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time()
                )
            except (TypeError, ValueError, IndexError, OverflowError):
                return None  # unreadable: don't guess
        return seconds if 0 <= seconds <= MAX_RETRY_WAIT_SECONDS else None
    return RETRY_BACKOFF_SECONDS


def _status_reason(status: int, error: tuple[str, str] = ("", "")) -> str:
    code, kind = error
    said = ", ".join(f"{label}: {word}" for label, word in (("code", code), ("type", kind)) if word)
    if status == 429:
        return f"{RATE_LIMITED[:-1]}; {said})" if said else RATE_LIMITED
    return f"the model server answered {status}" + (f" ({said})" if said else "")


def describe(exc: BaseException) -> str:
    """A short, secret-free account of a failure, for the Call's events and the logs."""
    if isinstance(exc, ModelUnavailable):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return TIMED_OUT
    if isinstance(exc, aiohttp.ClientError):
        return NO_CONNECTION
    return f"the model failed ({type(exc).__name__})"
