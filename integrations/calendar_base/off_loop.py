"""Blocking calendar HTTP from async code: on a pool of its own, with an overall deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bookings.orm import run_blocking
from integrations.calendar_base import errors
from integrations.calendar_base.errors import CalendarError

T = TypeVar("T")

# Every blocking call to Google, Microsoft or Calendly from async code runs here, never on
# the event loop's default pool, which runs the web requests (Twilio's webhooks) and the ORM
# work (bookings.orm). A call past its budget is given up on but its thread runs on until the
# HTTP client's own timeouts and retries end (tens of seconds): during an outage these
# threads fill up and later calendar calls queue here (and fail on their budget), while the
# webhooks keep their threads. Bounded: a thread per call waiting on the network is cheap,
# but not without end.
CALENDAR_HTTP_THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="calendar-http")


def calendar_http(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """`func`, a blocking calendar call (it may touch the database too), as a coroutine
    function on CALENDAR_HTTP_THREADS (decorator or wrapper)."""
    return run_blocking(func, executor=CALENDAR_HTTP_THREADS)


async def off_loop(
    func: Callable[[], T],
    *,
    budget: float,
    what: str,
    service: str,
    error: type[CalendarError] = CalendarError,
) -> T:
    """Run func on a calendar HTTP thread; past `budget` seconds the call is "down" for the caller
    (the thread finishes on its own). A slow service must not hold up other calls' work."""
    work = calendar_http(func)
    try:
        return await asyncio.wait_for(work(), timeout=budget)
    except TimeoutError:
        raise error(
            f"{what}: no answer from {service} within {budget:.1f}s", kind=errors.API_DOWN
        ) from None


def overall_timeout(*, timeout: float, num_retries: int, max_wait: float, base: float) -> float:
    """The most a sync call can take: every attempt timing out plus the backoff waits."""
    waits = sum(min(max_wait, base * 2**n) for n in range(num_retries))
    return timeout * (num_retries + 1) + waits + 1.0
