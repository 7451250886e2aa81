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

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from integrations.calendar_base.fake_command import (
    RunFakeCommand,
    add_busy_arguments,
    local_time,
)
from integrations.microsoft_calendar.tests.fake_microsoft import FakeMicrosoft


class Command(RunFakeCommand):
    help = "Run a fake Microsoft (sign-in + Graph calendar) on 127.0.0.1 for local try-outs."
    vendor = "Microsoft"
    env_name = "fake-microsoft.env"
    default_port = 8766

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        add_busy_arguments(parser, calendar="default calendar")

    def make_fake(self, port: int) -> FakeMicrosoft:
        self._seen: dict[str, str] = {}
        return FakeMicrosoft(port=port)

    def seed(self, microsoft: FakeMicrosoft, *, busy: list[str], tz: str, **options) -> None:
        self._zone = ZoneInfo(tz)
        microsoft.add_calendar("Salon bookings")
        for local in busy:
            start = local_time(local, tz, "--busy")
            microsoft.add_event(start, start + timedelta(hours=1), subject="Busy")

    def headline(
        self, microsoft: FakeMicrosoft, *, busy: list[str], tz: str, **options
    ) -> list[str]:
        return [
            f"Fake Microsoft on {microsoft.base_url} (account {microsoft.account_email}).",
            *(f"  busy in the default calendar: {b} ({tz})" for b in busy),
        ]

    def next_steps(self) -> list[str]:
        return [
            "Then in admin: Businesses > Demo Salon > Connect Outlook Calendar.",
            "Your browser will warn about the fake's certificate (its own test CA): ",
            "accept it for 127.0.0.1, or import the CA file named above.",
            "Events the app writes are printed here. Ctrl+C stops the fake.",
        ]

    def print_changes(self, microsoft: FakeMicrosoft) -> None:
        current = {e["id"]: e for c in microsoft.calendar_ids() for e in microsoft.events(c)}
        for event_id, event in current.items():
            if event_id not in self._seen:
                self._seen[event_id] = event["subject"]
                when = datetime.fromisoformat(event["start"]["dateTime"][:19]).replace(
                    tzinfo=ZoneInfo(event["start"]["timeZone"])
                )
                self.stdout.write(
                    f"event: {when.astimezone(self._zone):%a %Y-%m-%d %H:%M %Z} {event['subject']}"
                )
        for event_id in [e for e in self._seen if e not in current]:
            self.stdout.write(f"deleted: {self._seen.pop(event_id)}")
