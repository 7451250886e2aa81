"""`manage.py run_worker`: run due outbox tasks until stopped (or, with --once, until none
is due). Any number may run side by side; the in-process nudge handles the common case, the
worker picks up retries and whatever a restart interrupted."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone

from bookings import heartbeat, outbox, periodic


class Command(BaseCommand):
    help = "Run due outbox tasks (texts, calendar events) with retries."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Drain due tasks, then exit.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument("--batch", type=int, default=20, help="Tasks claimed per poll.")

    def handle(self, *args, once: bool, interval: float, batch: int, **options) -> None:
        kinds = ", ".join(sorted(outbox.TASKS)) or "none"
        self.stdout.write(f"Outbox worker: handling {kinds}.")
        stopping = threading.Event()
        if not once:
            self._stop_on_signals(stopping)
        ran = 0
        name, started = heartbeat.worker_name(), timezone.now()
        last_beat = None
        last_runs: dict = {}
        while not stopping.is_set():
            _drop_stale_connections()
            now = timezone.now()
            if last_beat is None or now - last_beat >= heartbeat.BEAT_EVERY:
                heartbeat.beat(name, started_at=started, now=now)
                last_beat = now
            # E.g. queue the reminders that have come due; they then run as outbox tasks.
            periodic.run_due(now, last_runs)
            count = outbox.run_due(limit=batch)
            ran += count
            if count:
                continue
            if once:
                break
            stopping.wait(interval)
        heartbeat.stop(name)
        _drop_stale_connections()
        self.stdout.write(f"Outbox worker: ran {ran} task(s), stopping.")

    def _stop_on_signals(self, stopping: threading.Event) -> None:
        # Finish the task in hand, then leave: a task cut off mid-way would wait for its
        # lease to run out before another worker retried it.
        def stop(signum, frame) -> None:
            self.stdout.write("Outbox worker: finishing the current task, then stopping.")
            stopping.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)


def _drop_stale_connections() -> None:
    # A worker lives for days: drop connections the server closed or that outlived
    # CONN_MAX_AGE between polls. Never inside a transaction (only when a test calls us).
    if not connection.in_atomic_block:
        close_old_connections()
