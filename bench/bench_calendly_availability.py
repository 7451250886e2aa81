"""Calendly availability against the fake Calendly with injected latency (issue #12).

200 checks each for:
  (a) a warm access token: one round trip (CalendlyClient.available_starts over one day, a
      new client per check, as the provider makes one per fetch);
  (b) an expired access token every time: two round trips (token refresh + available
      times), the rotated refresh token and new access token saved (encrypted) each time;
  (c) in a call, after CalendlyProvider.prepare_for_call() fetched the first week: no round
      trip (check_availability answered from the call's memory).
It prints p50/p99 and our overhead above the injected latency, and how many requests the
fake saw per case.

    .venv/bin/python bench/bench_calendly_availability.py [--checks 200] [--latency 0.05]

Everything runs in this process: a temporary SQLite database, the loopback fake Calendly from
the tests, our real requests-based client. The set-up and the table are
bench_calendar_availability.py's (Google, Outlook).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_calendar_availability import ROOT, report, setup_django


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per round trip")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from integrations.calendly.tests.fake_calendly import FakeCalendly

    with tempfile.TemporaryDirectory() as tmp, FakeCalendly() as calendly:
        setup_django(Path(tmp), calendly.env())
        calendly.latency = calendly.token_latency = args.latency
        return run(calendly, args.checks, args.latency)


def run(calendly, checks: int, latency: float) -> int:
    from bookings.tests.factories import BusinessFactory, ServiceFactory
    from bookings.tests.timeutil import local
    from integrations.calendly.tests.connected import connect_business, map_service

    business = BusinessFactory(slug="bench-salon", booking_provider="calendly")
    haircut = ServiceFactory(business=business, name="Haircut", duration_minutes=30)
    connection = connect_business(business, calendly)
    haircut_type = map_service(haircut, calendly)
    # Inside the week the call prefetches, on a day the fake host works (Monday-Saturday).
    day = business.local_today() + timedelta(days=2)
    day += timedelta(days=1) if day.weekday() == 6 else timedelta(0)
    free_at, taken_at = local(business, day, 14), local(business, day, 15)
    calendly.book(haircut_type, taken_at)
    window = (local(business, day, 0), local(business, day, 23, 59))
    expected = calendly.available(haircut_type, *window)
    assert free_at in expected and taken_at not in expected

    results = {
        "(a) warm token": warm_token(calendly, connection, haircut_type, window, expected, checks),
        "(b) expired token": expired_token(
            calendly, connection, haircut_type, window, expected, checks
        ),
        "(c) prefetched in-call": asyncio.run(
            prefetched(calendly, business, haircut, free_at, taken_at, checks)
        ),
    }
    round_trips = {"(a) warm token": 1, "(b) expired token": 2, "(c) prefetched in-call": 0}
    report("Calendly (available times)", results, round_trips, checks, latency)
    return 0


def counts(calendly) -> tuple[int, int]:
    return (
        calendly.count("GET", "/event_type_available_times"),
        calendly.count("POST", "/oauth/token"),
    )


def per_check(calendly, before: tuple[int, int], checks: int) -> str:
    now = counts(calendly)
    times, token = ((n - b) / checks for n, b in zip(now, before, strict=True))
    return f"available_times {times:g}, token {token:g}"


def warm_token(calendly, connection, uri, window, expected, checks: int):
    from integrations.calendly.client import CalendlyClient

    CalendlyClient(connection).available_starts(uri, *window)  # warm up imports, the pool
    before = counts(calendly)
    samples = []
    for _ in range(checks):
        started = time.perf_counter()
        answer = CalendlyClient(connection).available_starts(uri, *window)
        samples.append(time.perf_counter() - started)
        assert answer == expected, answer
    return samples, per_check(calendly, before, checks)


def expired_token(calendly, connection, uri, window, expected, checks: int):
    from integrations.calendly.client import CalendlyClient
    from integrations.calendly.models import CalendlyConnection

    rows = CalendlyConnection.objects.filter(pk=connection.pk)
    past = datetime.now(UTC) - timedelta(minutes=5)
    before = counts(calendly)
    samples = []
    for _ in range(checks):
        # Expired at Calendly and on the row, so the refresh cannot be skipped.
        calendly.expire_access_tokens()
        rows.update(access_token_expires_at=past)
        connection.refresh_from_db()
        started = time.perf_counter()
        answer = CalendlyClient(connection).available_starts(uri, *window)
        samples.append(time.perf_counter() - started)
        assert answer == expected, answer
    assert rows.get().access_token_expires_at > datetime.now(UTC), "refresh not saved"
    return samples, per_check(calendly, before, checks)


async def prefetched(calendly, business, haircut, free_at, taken_at, checks: int):
    from bookings.providers.base import BookingContext
    from integrations.calendly.provider import CalendlyProvider

    provider = CalendlyProvider(business, options=CalendlyProvider.clean_options({}))
    await provider.prepare_for_call()
    before = counts(calendly)
    samples = []
    for n in range(checks):
        start = taken_at if n % 2 else free_at  # half of them refused, with alternatives
        context = BookingContext(
            business=business,
            service=haircut,
            start=start,
            end=start + haircut.duration,
            customer_name="Bench Caller",
            customer_phone="+15555550123",
        )
        started = time.perf_counter()
        answer = await provider.check_availability(context)
        samples.append(time.perf_counter() - started)
        assert answer.available is (start == free_at), (start, answer)
    return samples, per_check(calendly, before, checks)


if __name__ == "__main__":
    sys.exit(main())
