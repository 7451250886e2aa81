"""`manage.py run_fake_google`: the test suite's fake Google, for trying the calendar locally.

It serves Google's consent, token, revoke and Calendar endpoints on 127.0.0.1 (account
owner@example.com, plus a "Team rota" calendar), writes the settings that point the app at it
to var/fake-google.env, and prints every event the app creates or deletes. State lives in
memory: after a restart, reconnect in admin.

Plain http to a loopback fake is allowed by the app under DEBUG only (oauth.py).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.google_calendar.tests.fake_google import FakeGoogle

DEFAULT_PORT = 8765
DEMO_TZ = "America/New_York"  # seed_demo's business
TEAM_CALENDAR = "team-rota@group.calendar.google.com"


def env_file() -> Path:
    return Path(settings.VAR_DIR) / "fake-google.env"


class Command(BaseCommand):
    help = "Run a fake Google (OAuth + Calendar) on 127.0.0.1 for local try-outs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=DEFAULT_PORT)
        parser.add_argument(
            "--busy",
            action="append",
            default=[],
            metavar="'YYYY-MM-DD HH:MM'",
            help="An hour-long event in the primary calendar at this local time (repeatable).",
        )
        parser.add_argument("--tz", default=DEMO_TZ, help=f"Zone of --busy (default {DEMO_TZ}).")

    def handle(self, *args, port: int, busy: list[str], tz: str, **options) -> None:
        google = FakeGoogle(port=port)
        try:
            google.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port} ({exc}); try --port.") from exc
        try:
            google.add_calendar(TEAM_CALENDAR, "Team rota")
            for local in busy:
                start = self._local_time(local, tz)
                google.add_event("primary", start, start + timedelta(hours=1), summary="Busy")
            self._announce(google, busy, tz)
            self._print_events(google, tz)
        except KeyboardInterrupt:
            self.stdout.write("\nFake Google stopped.")
        finally:
            google.stop()

    @staticmethod
    def _local_time(value: str, tz: str) -> datetime:
        try:
            day, clock = value.split()
            return datetime.combine(
                date.fromisoformat(day), dt_time.fromisoformat(clock), tzinfo=ZoneInfo(tz)
            )
        except ValueError as exc:
            raise CommandError(f"--busy {value!r}: use 'YYYY-MM-DD HH:MM'") from exc

    def _announce(self, google: FakeGoogle, busy: list[str], tz: str) -> None:
        lines = [f"{name}={value}" for name, value in google.settings().items()]
        path = env_file()
        path.write_text("\n".join(lines) + "\n")
        self.stdout.write(
            "\n".join(
                [
                    f"Fake Google on {google.base_url} (account {google.account_email}).",
                    *(f"  busy in the primary calendar: {b} ({tz})" for b in busy),
                    f"Settings written to {path}:",
                    *(f"  {line}" for line in lines),
                    "Start the app with them, in another terminal:",
                    f"  set -a && . {path} && set +a && make run",
                    "Then in admin: Businesses > Demo Salon > Connect Google Calendar.",
                    "Events the app writes are printed here. Ctrl+C stops the fake.",
                    "",
                ]
            )
        )

    @staticmethod
    def _shown(edge: dict, zone: ZoneInfo) -> str:
        if "dateTime" not in edge:
            return edge.get("date", "")
        return f"{datetime.fromisoformat(edge['dateTime']).astimezone(zone):%a %Y-%m-%d %H:%M %Z}"

    def _print_events(self, google: FakeGoogle, tz: str) -> None:
        seen: dict[tuple[str, str], str] = {}
        while True:
            for calendar in (google.account_email, TEAM_CALENDAR):
                for event in google.events(calendar, include_deleted=True):
                    key = (calendar, event["id"])
                    if seen.get(key) == event["status"]:
                        continue
                    seen[key] = event["status"]
                    what = "deleted" if event["status"] == "cancelled" else "event"
                    when = self._shown(event["start"], ZoneInfo(tz))
                    self.stdout.write(f"[{calendar}] {what}: {when} {event.get('summary', '')}")
            time.sleep(0.5)
