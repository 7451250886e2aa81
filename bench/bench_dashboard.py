"""The dashboard with 100,000 calls in the database (issue #13, section 2).

Fills a fresh database with one business, N calls spread over the last 90 days (every
outcome, some LLM fallbacks), four receptionist turns per call with a first-token latency
each, and a few thousand bookings (some whose calendar event failed); then counts the
daily rollup once (`rebuild_call_days`, timed) and renders the dashboard page through
Django's test client for the last 7, 30 and 90 days, printing per period the page's median
time and its queries with their own times (today is always counted live from the calls).

    .venv/bin/python bench/bench_dashboard.py [--calls 100000] [--database sqlite|postgres]

Postgres: --database postgres uses BENCH_DATABASE_URL (default
postgres://root@127.0.0.1:5432/rx_bench_dashboard), dropped and created afresh. --reuse
measures the database at BENCH_DATABASE_URL as an earlier run left it (Postgres, or SQLite
as sqlite:////path), so two versions of the code can be compared on the same data.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
TURNS_PER_CALL = 4
OUTCOMES = ["booked"] * 40 + ["abandoned"] * 25 + ["message_taken"] * 12 + ["moved"] * 6
OUTCOMES += ["cancelled"] * 6 + ["transferred"] * 8 + ["failed"] * 3
BATCH = 5000
DASHBOARD_TABLES = ("calls_call", "bookings_booking", "bookings_outboxtask")


def setup_django(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from benchlib import PRODUCTION_SHAPED

    os.environ.update(
        {
            **PRODUCTION_SHAPED,
            "DJANGO_SETTINGS_MODULE": "receptionist.settings",
            "DATABASE_URL": database_url,
            "OUTBOX_RUN_IN_PROCESS": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def fresh_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def fill(calls: int) -> object:
    from django.core.management import call_command
    from django.utils import timezone

    from bookings.models import Booking, Business, OutboxTask, Service
    from calls.models import Call, CallTurn

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", verbosity=0)
    business = Business.objects.get(slug="demo")
    haircut = Service.objects.get(business=business, name="Haircut")
    rng = random.Random(13)
    now = timezone.now()
    started = time.perf_counter()
    made = 0
    while made < calls:
        batch = []
        for n in range(made, min(made + BATCH, calls)):
            when = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            events = []
            if rng.random() < 0.03:
                events = [{"at": when.isoformat(), "event": "llm_fallback", "detail": "timeout"}]
            batch.append(
                Call(
                    sid=f"CA{n:032x}",
                    business=business,
                    from_number=f"+1212555{n % 10000:04d}",
                    to_number=business.phone_number,
                    started_at=when,
                    ended_at=when + timedelta(seconds=rng.uniform(20, 240)),
                    outcome=rng.choice(OUTCOMES),
                    engine="embedded",
                    events=events,
                )
            )
        starts = [row.started_at for row in batch]
        rows = Call.objects.bulk_create(batch)
        # auto_now_add wins over the value given (on these very objects): put the spread-out
        # start times back.
        for row, when in zip(rows, starts, strict=True):
            row.started_at = when
        Call.objects.bulk_update(rows, ["started_at"], batch_size=1000)
        CallTurn.objects.bulk_create(
            CallTurn(
                call=row,
                speaker="receptionist",
                text="Sure, what time suits you?",
                at=row.started_at + timedelta(seconds=5 * t),
                first_token_ms=int(rng.lognormvariate(5.5, 0.5)),
            )
            for row in rows
            for t in range(TURNS_PER_CALL)
        )
        made += len(batch)
    # Bookings: one per half hour, round the clock, over the 90 days (no overlaps).
    slot = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=90)
    bookings = []
    while slot < now:
        bookings.append(
            Booking(
                business=business,
                service=haircut,
                customer_name="Bench",
                customer_phone="+12125550000",
                start=slot,
                end=slot + timedelta(minutes=30),
                provider="native",
            )
        )
        slot += timedelta(minutes=30)
    made = Booking.objects.bulk_create(bookings, batch_size=1000)
    # One in ten had its calendar event fail for good.
    OutboxTask.objects.bulk_create(
        (
            OutboxTask(
                kind="provider.after_booking",
                payload={"booking_id": booking.pk},
                dedupe_key=f"provider.after_booking:booking:{booking.pk}",
                status=rng.choice(["done"] * 9 + ["failed"]),
            )
            for booking in made
        ),
        batch_size=1000,
    )
    print(
        f"filled {calls:,} calls, {calls * TURNS_PER_CALL:,} turns, {len(bookings):,} bookings "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return business


def measure(business) -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from calls.dashboard import build

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = reverse("admin:calls_call_dashboard", args=[business.pk])
    print(f"database: {connection.vendor}")
    started = time.perf_counter()
    call_command("rebuild_call_days", stdout=io.StringIO())
    print(f"rebuild_call_days (the daily rollup, once): {time.perf_counter() - started:.1f} s")
    for period in ("7", "30", "90"):
        times = []
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, {"period": period})
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
        ours = [
            q
            for q in queries.captured_queries
            if any(table in q["sql"] for table in DASHBOARD_TABLES)
        ]
        today = business.local_today()
        counted = build(business, today - timedelta(days=int(period) - 1), today)
        print(
            f"last {period:>2} days ({counted.calls:,} calls, {counted.latency_turns:,} turns "
            f"timed, p50 {counted.p50_ms} ms, p95 {counted.p95_ms} ms): "
            f"page median {statistics.median(times) * 1000:.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {RUNS} runs; "
            f"{len(queries.captured_queries)} queries, {len(ours)} of them the dashboard's:"
        )
        for query in ours:
            print(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:110]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Measure the database at BENCH_DATABASE_URL that an earlier run filled "
        "(migrated first), e.g. to compare two versions of the code on the same data.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as workdir:
        if args.reuse:
            url = os.environ["BENCH_DATABASE_URL"]
        elif args.database == "postgres":
            url = os.environ.get(
                "BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/rx_bench_dashboard"
            )
            fresh_postgres(url)
        else:
            url = f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
        setup_django(url)
        measure(reused() if args.reuse else fill(args.calls))


def reused() -> object:
    from django.core.management import call_command

    from bookings.models import Business

    call_command("migrate", verbosity=0, interactive=False)
    business = Business.objects.get(slug="demo")
    print(f"reusing {business.calls.count():,} calls")
    return business


if __name__ == "__main__":
    main()
