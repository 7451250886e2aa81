"""`manage.py run_fake_microsoft`: the test suite's fake Microsoft (identity platform +
Graph), for trying the Outlook connect flow locally.

It serves Microsoft's OpenID configuration, sign-in, token and Graph calendar endpoints over
https on 127.0.0.1 (msal speaks https only) with a certificate from a throwaway CA, for the
account owner@example.com (a default "Calendar" plus "Salon bookings"). The settings that
point the app at it, the CA included, go to var/fake-microsoft.env; every event the app
writes or deletes is printed. State lives in memory, and the CA is new on every start: after
a restart, restart the app with the new settings and reconnect in admin.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.google_calendar.management.commands.run_fake_google import (
    DEMO_TZ,
)
from integrations.google_calendar.management.commands.run_fake_google import (
    Command as RunFakeGoogle,
)
from integrations.microsoft_calendar.tests.fake_microsoft import FakeMicrosoft

DEFAULT_PORT = 8766


def env_file() -> Path:
    return Path(settings.VAR_DIR) / "fake-microsoft.env"


class Command(BaseCommand):
    help = "Run a fake Microsoft (sign-in + Graph calendar) on 127.0.0.1 for local try-outs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=DEFAULT_PORT)
        parser.add_argument(
            "--busy",
            action="append",
            default=[],
            metavar="'YYYY-MM-DD HH:MM'",
            help="An hour-long event in the default calendar at this local time (repeatable).",
        )
        parser.add_argument("--tz", default=DEMO_TZ, help=f"Zone of --busy (default {DEMO_TZ}).")

    def handle(self, *args, port: int, busy: list[str], tz: str, **options) -> None:
        microsoft = FakeMicrosoft(port=port)
        try:
            microsoft.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port} ({exc}); try --port.") from exc
        try:
            microsoft.add_calendar("Salon bookings")
            for local in busy:
                start = RunFakeGoogle._local_time(local, tz)
                microsoft.add_event(start, start + timedelta(hours=1), subject="Busy")
            self._announce(microsoft, busy, tz)
            self._print_events(microsoft, ZoneInfo(tz))
        except KeyboardInterrupt:
            self.stdout.write("\nFake Microsoft stopped.")
        finally:
            microsoft.__exit__(None, None, None)

    def _announce(self, microsoft: FakeMicrosoft, busy: list[str], tz: str) -> None:
        lines = [f"{name}={value}" for name, value in microsoft.settings().items()]
        path = env_file()
        path.write_text("\n".join(lines) + "\n")
        self.stdout.write(
            "\n".join(
                [
                    f"Fake Microsoft on {microsoft.base_url} (account {microsoft.account_email}).",
                    *(f"  busy in the default calendar: {b} ({tz})" for b in busy),
                    f"Settings written to {path}:",
                    *(f"  {line}" for line in lines),
                    "Start the app with them, in another terminal:",
                    f"  set -a && . {path} && set +a && make run",
                    "Then in admin: Businesses > Demo Salon > Connect Outlook Calendar.",
                    "Your browser will warn about the fake's certificate (its own test CA): ",
                    "accept it for 127.0.0.1, or import the CA file named above.",
                    "Events the app writes are printed here. Ctrl+C stops the fake.",
                    "",
                ]
            )
        )

    def _print_events(self, microsoft: FakeMicrosoft, zone: ZoneInfo) -> None:
        seen: dict[str, str] = {}
        while True:
            current = {e["id"]: e for c in microsoft.calendar_ids() for e in microsoft.events(c)}
            for event_id, event in current.items():
                if event_id not in seen:
                    seen[event_id] = event["subject"]
                    when = datetime.fromisoformat(event["start"]["dateTime"][:19]).replace(
                        tzinfo=ZoneInfo(event["start"]["timeZone"])
                    )
                    self.stdout.write(
                        f"event: {when.astimezone(zone):%a %Y-%m-%d %H:%M %Z} {event['subject']}"
                    )
            for event_id in [e for e in seen if e not in current]:
                self.stdout.write(f"deleted: {seen.pop(event_id)}")
            time.sleep(0.5)
