"""What the `manage.py run_fake_*` commands share: start the test suite's loopback fake of a
service on --port, write the settings that point the app at it to var/, say how to use it,
then print what the app does there until Ctrl+C. Each command makes and seeds its fake, words
its lines and says what changed."""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEMO_TZ = "America/New_York"  # seed_demo's business


class RunFakeCommand(BaseCommand):
    vendor: ClassVar[str]  # "Google": "Fake Google stopped."
    env_name: ClassVar[str]  # the settings file under var/: "fake-google.env"
    default_port: ClassVar[int]

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=self.default_port)

    def handle(self, *args, port: int, **options) -> None:
        fake = self.make_fake(port)
        try:
            fake.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port} ({exc}); try --port.") from exc
        try:
            self.seed(fake, **options)
            self.announce(fake, **options)
            while True:
                self.print_changes(fake)
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write(f"\nFake {self.vendor} stopped.")
        finally:
            fake.__exit__(None, None, None)

    def announce(self, fake: Any, **options) -> None:
        lines = [f"{name}={value}" for name, value in fake.settings().items()]
        path = Path(settings.VAR_DIR) / self.env_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        self.stdout.write(
            "\n".join(
                [
                    *self.headline(fake, **options),
                    f"Settings written to {path}:",
                    *(f"  {line}" for line in lines),
                    "Start the app with them, in another terminal:",
                    f"  set -a && . {path} && set +a && make run",
                    *self.next_steps(),
                    "",
                ]
            )
        )

    # -- Each command's own ----------------------------------------------------------------

    def make_fake(self, port: int) -> Any:
        raise NotImplementedError

    def seed(self, fake: Any, **options) -> None:
        """What the fake holds before the app connects (calendars, busy times...)."""

    def headline(self, fake: Any, **options) -> list[str]:
        """Where the fake listens, for whom, and what it was seeded with."""
        raise NotImplementedError

    def next_steps(self) -> list[str]:
        raise NotImplementedError

    def print_changes(self, fake: Any) -> None:
        """Print what the app changed at the fake since the last call."""
        raise NotImplementedError


def add_busy_arguments(parser, *, calendar: str) -> None:
    """--busy (repeatable) and --tz: hour-long events in `calendar` before the app connects."""
    parser.add_argument(
        "--busy",
        action="append",
        default=[],
        metavar="'YYYY-MM-DD HH:MM'",
        help=f"An hour-long event in the {calendar} at this local time (repeatable).",
    )
    parser.add_argument("--tz", default=DEMO_TZ, help=f"Zone of --busy (default {DEMO_TZ}).")


def local_time(value: str, tz: str, option: str) -> datetime:
    """'YYYY-MM-DD HH:MM' in `tz`, as given to `option`."""
    try:
        day, clock = value.split()
        return datetime.combine(
            date.fromisoformat(day), dt_time.fromisoformat(clock), tzinfo=ZoneInfo(tz)
        )
    except ValueError as exc:
        raise CommandError(f"{option} {value!r}: use 'YYYY-MM-DD HH:MM'") from exc
