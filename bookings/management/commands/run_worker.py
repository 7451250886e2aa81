"""`manage.py run_worker`: run due outbox tasks until stopped (or, with --once, until none
is due). Any number may run side by side, on any machines: each claims its own tasks."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from bookings import outbox


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
        worker = outbox.Worker(interval=interval, batch=batch)
        if not once:
            self._stop_on_signals(worker)
        ran = worker.run(once=once)
        self.stdout.write(f"Outbox worker: ran {ran} task(s), stopping.")

    def _stop_on_signals(self, worker: outbox.Worker) -> None:
        # Finish the task in hand, then leave: a task cut off mid-way would wait for its
        # lease to run out before another worker retried it.
        def stop(signum, frame) -> None:
            self.stdout.write("Outbox worker: finishing the current task, then stopping.")
            worker.stop()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
