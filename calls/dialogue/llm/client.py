"""The one seam to the model: a streamed chat completion from an OpenAI-compatible server.

LLM_BASE_URL, LLM_API_KEY and LLM_MODEL (or the business's own model) say which server and
model; OpenAI, Groq, vLLM and Ollama all speak this API. Timeouts and the retry budget live
here. On a phone call a long silence is worse than a simpler receptionist, so there is at most
one quick retry, never a long Retry-After wait, and every failure comes out as
ModelUnavailable, for the engine to hand the call to the embedded receptionist.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import openai
from django.conf import settings

if TYPE_CHECKING:
    from bookings.models import Business

logger = logging.getLogger(__name__)

# A Retry-After longer than this is not waited for: the caller is on the line.
MAX_RETRY_WAIT_SECONDS = 1.0
RETRY_BACKOFF_SECONDS = 0.2
OPENAI_HOST = "api.openai.com"


class ModelUnavailable(Exception):
    """The model could not answer (timeout, rate limit, server error, unusable reply).
    `reason` is short, safe to record on the Call: no secrets, no response bodies."""

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
    Synchronous: reads the database."""
    from calls.models import ReceptionistSettings

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


# One HTTP client per event loop and server: calls share its connection pool. Clients are
# bound to the loop they first ran on (Daphne has one; tests have one per test).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, openai.AsyncOpenAI]]
_clients = weakref.WeakKeyDictionary()


def _client_for(config: LLMConfig) -> openai.AsyncOpenAI:
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    key = (config.base_url, config.api_key, config.timeout)
    client = per_loop.get(key)
    if client is None:
        client = per_loop[key] = openai.AsyncOpenAI(
            base_url=config.base_url,
            # Local servers ignore the key, but the client insists on one.
            api_key=config.api_key or "no-key",
            timeout=config.timeout,
            max_retries=0,  # our own budget below: short waits only
        )
    return client


async def close_clients() -> None:
    """Close this loop's clients (tests, and anything that stops a loop it ran calls on)."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.close()


class ModelClient:
    def __init__(self, config: LLMConfig) -> None:
        self.config = config

    async def stream(
        self, *, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]
    ) -> AsyncIterator[TextDelta | ToolCallDelta]:
        """The model's answer as it is written. Closing this iterator early (an interrupt)
        closes the HTTP response at once, so the server stops generating."""
        stream = await self._open(messages, tools)
        try:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta is None:
                    continue
                if delta.content:
                    yield TextDelta(delta.content)
                for call in delta.tool_calls or ():
                    function = call.function
                    yield ToolCallDelta(
                        index=call.index,
                        id=call.id or "",
                        name=(function.name if function else None) or "",
                        arguments=(function.arguments if function else None) or "",
                    )
        except openai.OpenAIError as exc:
            raise ModelUnavailable(describe(exc)) from exc
        except ValueError as exc:  # an event that is not JSON
            raise ModelUnavailable("unreadable stream from the model") from exc
        finally:
            await stream.close()

    async def _open(self, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]):
        client = _client_for(self.config)
        extra: dict[str, Any] = {"tools": list(tools)} if tools else {}
        attempt = 0
        while True:
            try:
                return await client.chat.completions.create(
                    model=self.config.model, messages=list(messages), stream=True, **extra
                )
            except (openai.RateLimitError, openai.InternalServerError) as exc:
                wait = _retry_wait(exc)
                if attempt >= self.config.max_retries or wait is None:
                    raise ModelUnavailable(describe(exc)) from exc
            except openai.APITimeoutError as exc:
                # The caller has already waited a whole timeout: don't make it two.
                raise ModelUnavailable(describe(exc)) from exc
            except openai.APIConnectionError as exc:
                if attempt >= self.config.max_retries:
                    raise ModelUnavailable(describe(exc)) from exc
                wait = RETRY_BACKOFF_SECONDS
            except openai.OpenAIError as exc:
                raise ModelUnavailable(describe(exc)) from exc
            attempt += 1
            logger.info("The model server refused; retrying in %.2f s", wait)
            await asyncio.sleep(wait)


def _retry_wait(exc: openai.APIStatusError) -> float | None:
    """How long to wait before the one retry; None: too long for a caller on the line."""
    headers = exc.response.headers
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            return None  # an HTTP date: certainly longer than we can wait
        return seconds if 0 <= seconds <= MAX_RETRY_WAIT_SECONDS else None
    return RETRY_BACKOFF_SECONDS


def describe(exc: BaseException) -> str:
    """A short, secret-free account of a failure, for the Call's events and the logs."""
    if isinstance(exc, openai.APITimeoutError):
        return "the model timed out"
    if isinstance(exc, openai.RateLimitError):
        return "the model server rate-limited us (429)"
    if isinstance(exc, openai.APIStatusError):
        return f"the model server answered {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect to the model server"
    if isinstance(exc, openai.APIError):
        return "the model server reported an error mid-stream"
    return f"the model failed ({type(exc).__name__})"
