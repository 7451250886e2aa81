"""Blocking calendar HTTP from async code: in a thread, with an overall deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from bookings.orm import run_blocking
from integrations.calendar_base import errors
from integrations.calendar_base.errors import CalendarError

T = TypeVar("T")


async def off_loop(
    func: Callable[[], T],
    *,
    budget: float,
    what: str,
    service: str,
    error: type[CalendarError] = CalendarError,
) -> T:
    """Run func in a worker thread; past `budget` seconds the call is "down" for the caller
    (the thread finishes on its own). A slow service must not hold up other calls' work."""
    work = run_blocking(func)
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
