"""Availability checks against the fake Google with injected latency (issue #4, section 9).

200 checks each for:
  (a) a warm access token: one round trip (CalendarClient.free_busy, a new client per check,
      as the provider makes one per fetch);
  (b) an expired access token every time: two round trips (token refresh + freeBusy), the
      refreshed token saved (encrypted) on the connection each time;
  (c) in a call, after GoogleCalendarProvider.prepare_for_call() fetched the horizon: no
      round trip (GoogleCalendarProvider.check_availability answered from the call's memory
      plus our own bookings and opening hours);
  (d) the same through the chain provider (several calendars: native + Google).
It prints p50/p99 and our overhead above the injected latency (a: minus one latency,
b: minus two, c: all of it is ours), and how many requests the fake saw per case.

    .venv/bin/python bench/bench_google_availability.py [--checks 200] [--latency 0.05]

Everything runs in this process: a temporary SQLite database, the loopback fake Google from
the tests, the real google-api-python-client/google-auth stack.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from availability_bench import ROOT, report, setup_django


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per round trip")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from integrations.google_calendar.tests.fake_google import FakeGoogle

    with tempfile.TemporaryDirectory() as tmp, FakeGoogle() as google:
        setup_django(Path(tmp), google.env())
        google.latency = google.token_latency = args.latency
        return run(google, args.checks, args.latency)


def run(google, checks: int, latency: float) -> int:
    from bookings.tests.factories import BusinessFactory, ServiceFactory
    from bookings.tests.timeutil import local, upcoming
    from integrations.google_calendar.tests.connected import connect_business

    business = BusinessFactory(slug="bench-salon", booking_provider="google_calendar")
    haircut = ServiceFactory(business=business, name="Haircut", duration_minutes=30)
    connection = connect_business(business, google)
    tuesday = upcoming(business, 1)
    free_at, busy_at = local(business, tuesday, 14), local(business, tuesday, 15)
    google.add_event("primary", busy_at, busy_at + timedelta(hours=1))
    window = (local(business, tuesday, 9), local(business, tuesday, 18))
    expected = [(busy_at.astimezone(UTC), (busy_at + timedelta(hours=1)).astimezone(UTC))]

    results = {
        "(a) warm token": warm_token(google, connection, window, expected, checks),
        "(b) expired token": expired_token(google, connection, window, expected, checks),
        "(c) prefetched in-call": asyncio.run(
            prefetched(google, business, haircut, free_at, busy_at, checks)
        ),
        "(d) chain, prefetched": asyncio.run(
            prefetched(google, business, haircut, free_at, busy_at, checks, chain=True)
        ),
    }
    round_trips = {
        "(a) warm token": 1,
        "(b) expired token": 2,
        "(c) prefetched in-call": 0,
        "(d) chain, prefetched": 0,
    }

    report(
        "Google availability checks",
        "fake Google on loopback",
        "Calendar API and token endpoint",
        results,
        round_trips,
        checks=checks,
        latency=latency,
    )
    return 0


def per_check(google, before: tuple[int, int], checks: int) -> str:
    free_busy = (google.count("POST", "/calendar/v3/freeBusy") - before[0]) / checks
    token = (google.count("POST", "/token") - before[1]) / checks
    return f"freeBusy {free_busy:g}, token {token:g}"


def counts(google) -> tuple[int, int]:
    return google.count("POST", "/calendar/v3/freeBusy"), google.count("POST", "/token")


def warm_token(google, connection, window, expected, checks: int):
    from integrations.google_calendar.client import CalendarClient

    CalendarClient(connection).free_busy(["primary"], *window)  # warm up imports, the pool
    before = counts(google)
    samples = []
    for _ in range(checks):
        started = time.perf_counter()
        answer = CalendarClient(connection).free_busy(["primary"], *window)
        samples.append(time.perf_counter() - started)
        assert answer.busy == expected and not answer.unknown, answer
    return samples, per_check(google, before, checks)


def expired_token(google, connection, window, expected, checks: int):
    from integrations.google_calendar.client import CalendarClient
    from integrations.google_calendar.models import GoogleCalendarConnection

    rows = GoogleCalendarConnection.objects.filter(pk=connection.pk)
    past = datetime.now(UTC) - timedelta(minutes=5)
    before = counts(google)
    samples = []
    for _ in range(checks):
        # Expired at Google and on the row, so the refresh cannot be skipped.
        google.expire_access_tokens()
        rows.update(access_token_expires_at=past)
        connection.refresh_from_db()
        started = time.perf_counter()
        answer = CalendarClient(connection).free_busy(["primary"], *window)
        samples.append(time.perf_counter() - started)
        assert answer.busy == expected and not answer.unknown, answer
    assert rows.get().access_token_expires_at > datetime.now(UTC), "refresh not saved"
    return samples, per_check(google, before, checks)


async def prefetched(google, business, haircut, free_at, busy_at, checks: int, chain=False):
    from bookings.providers.base import BookingContext
    from bookings.providers.chain import ChainProvider
    from integrations.google_calendar.provider import GoogleCalendarProvider

    if chain:  # several calendars: native + Google through the chain provider
        options = {"sources": ["google_calendar"], "write_events_to": "google_calendar"}
        provider = ChainProvider(business, options=ChainProvider.clean_options(options))
    else:
        provider = GoogleCalendarProvider(
            business, options=GoogleCalendarProvider.clean_options({})
        )
    await provider.prepare_for_call()
    before = counts(google)
    samples = []
    for n in range(checks):
        start = busy_at if n % 2 else free_at  # half of them refused, with alternatives
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
    return samples, per_check(google, before, checks)


if __name__ == "__main__":
    sys.exit(main())
