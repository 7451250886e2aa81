"""`manage.py run_fake_google`: the test suite's fake Google, for trying the calendar locally.

It serves Google's consent, token, revoke and Calendar endpoints on 127.0.0.1 (account
owner@example.com, plus a "Team rota" calendar), writes the settings that point the app at it
to var/fake-google.env, and prints every event the app creates or deletes. State lives in
memory: after a restart, reconnect in admin.

Plain http to a loopback fake is allowed by the app under DEBUG only (oauth.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from integrations.calendar_base.fake_command import (
    RunFakeCommand,
    add_busy_arguments,
    local_time,
)
from integrations.google_calendar.tests.fake_google import FakeGoogle

TEAM_CALENDAR = "team-rota@group.calendar.google.com"


class Command(RunFakeCommand):
    help = "Run a fake Google (OAuth + Calendar) on 127.0.0.1 for local try-outs."
    vendor = "Google"
    env_name = "fake-google.env"
    default_port = 8765

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        add_busy_arguments(parser, calendar="primary calendar")

    def make_fake(self, port: int) -> FakeGoogle:
        self._seen: dict[tuple[str, str], str] = {}
        return FakeGoogle(port=port)

    def seed(self, google: FakeGoogle, *, busy: list[str], tz: str, **options) -> None:
        self._zone = ZoneInfo(tz)
        google.add_calendar(TEAM_CALENDAR, "Team rota")
        for local in busy:
            start = local_time(local, tz, "--busy")
            google.add_event("primary", start, start + timedelta(hours=1), summary="Busy")

    def headline(self, google: FakeGoogle, *, busy: list[str], tz: str, **options) -> list[str]:
        return [
            f"Fake Google on {google.base_url} (account {google.account_email}).",
            *(f"  busy in the primary calendar: {b} ({tz})" for b in busy),
        ]

    def next_steps(self) -> list[str]:
        return [
            "Then in admin: Businesses > Demo Salon > Connect Google Calendar.",
            "Events the app writes are printed here. Ctrl+C stops the fake.",
        ]

    def print_changes(self, google: FakeGoogle) -> None:
        for calendar in (google.account_email, TEAM_CALENDAR):
            for event in google.events(calendar, include_deleted=True):
                key = (calendar, event["id"])
                if self._seen.get(key) == event["status"]:
                    continue
                self._seen[key] = event["status"]
                what = "deleted" if event["status"] == "cancelled" else "event"
                when = _shown(event["start"], self._zone)
                self.stdout.write(f"[{calendar}] {what}: {when} {event.get('summary', '')}")


def _shown(edge: dict, zone: ZoneInfo) -> str:
    if "dateTime" not in edge:
        return edge.get("date", "")
    return f"{datetime.fromisoformat(edge['dateTime']).astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
