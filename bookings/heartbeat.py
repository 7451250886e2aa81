"""The outbox worker's heartbeat: written by `run_worker`, read by the health checks."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.utils import timezone

from bookings.models import WorkerHeartbeat

# run_worker beats this often; a heartbeat older than STALE_AFTER means no worker is alive
# (a batch of slow tasks, each with HTTP timeouts of seconds, stays well inside it).
BEAT_EVERY = timedelta(seconds=10)
STALE_AFTER = timedelta(minutes=2)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def beat(name: str, *, started_at: datetime, now: datetime | None = None) -> None:
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker=name,
        defaults={"seen_at": now},
        create_defaults={"started_at": started_at, "seen_at": now},
    )


def stop(name: str) -> None:
    WorkerHeartbeat.objects.filter(worker=name).delete()


def latest() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.order_by("-seen_at").first()


def is_fresh(heartbeat: WorkerHeartbeat | None, *, now: datetime | None = None) -> bool:
    return heartbeat is not None and (now or timezone.now()) - heartbeat.seen_at <= STALE_AFTER
