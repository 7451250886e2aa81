"""Jobs `run_worker` runs every so often (e.g. queueing the reminders that have come due).

Registered by the app that owns the work (`@register_periodic("sms.reminders", every=...)`),
so the worker never imports `calls`. Every worker runs every job: jobs must be idempotent
(they queue outbox tasks under dedupe keys, so two workers queue each text once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[datetime], object]


# The one registry of periodic jobs: name -> job.
PERIODIC: dict[str, PeriodicJob] = {}


def register_periodic(name: str, *, every: timedelta) -> Callable:
    def decorator(func: Callable[[datetime], object]) -> Callable[[datetime], object]:
        PERIODIC[name] = PeriodicJob(name=name, every=every, run=func)
        return func

    return decorator


def run_due(now: datetime, last_runs: dict[str, datetime]) -> None:
    """Run each job whose interval has passed since its last run in this worker (recorded
    in `last_runs`). A failing job is logged and tried again at its next interval."""
    for job in PERIODIC.values():
        last = last_runs.get(job.name)
        if last is not None and now - last < job.every:
            continue
        last_runs[job.name] = now
        try:
            job.run(now)
        except Exception:
            logger.exception("Periodic job %s failed; it runs again in %s.", job.name, job.every)
