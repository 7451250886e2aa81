"""What the calendar availability benchmarks share (bench_google_availability.py,
bench_calendly_availability.py): an in-process Django on a temporary SQLite file pointed at a
loopback fake, and one table of p50/p99 against the injected latency."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from benchlib import ROOT, percentile

TARGET_OVERHEAD_MS = 10.0


def setup_django(workdir: Path, fake_env: dict[str, str]) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(fake_env)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "receptionist.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            # The fakes speak plain http on loopback, which only DEBUG allows.
            "DEBUG": "true",
            "OUTBOX_RUN_IN_PROCESS": "false",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    # One "refreshed the token" line per check in the expired-token case would drown the
    # figures.
    logging.getLogger("integrations").setLevel(logging.WARNING)


def report(
    title: str,
    fake: str,
    endpoints: str,
    results: dict[str, tuple[list[float], str]],
    round_trips: dict[str, int],
    *,
    checks: int,
    latency: float,
) -> float:
    """Print the table; returns the worst p50 overhead above the injected latency (ms)."""
    injected_ms = latency * 1000
    print(
        f"{title}: {checks} per case, {fake}, {injected_ms:.0f} ms injected per round trip "
        f"({endpoints})"
    )
    print(
        f"{'case':<24}{'p50 ms':>9}{'p99 ms':>9}{'injected':>10}"
        f"{'overhead p50':>14}{'overhead p99':>14}   requests per check"
    )
    worst_overhead = 0.0
    for name, (samples, requests) in results.items():
        floor = round_trips[name] * injected_ms
        p50, p99 = percentile(samples, 50) * 1000, percentile(samples, 99) * 1000
        worst_overhead = max(worst_overhead, p50 - floor)
        print(
            f"{name:<24}{p50:>9.1f}{p99:>9.1f}{floor:>10.0f}"
            f"{p50 - floor:>14.1f}{p99 - floor:>14.1f}   {requests}"
        )
    verdict = "met" if worst_overhead < TARGET_OVERHEAD_MS else "NOT met"
    print(
        f"target: overhead under {TARGET_OVERHEAD_MS:.0f} ms at p50 ({verdict}: worst "
        f"{worst_overhead:.1f} ms); in-call answers without a round trip; "
        f"seed's target: under 500 ms with a refresh"
    )
    return worst_overhead
