"""`manage.py run_fake_calendly`: the test suite's fake Calendly, for trying it locally.

It serves Calendly's OAuth and API endpoints on 127.0.0.1 (user "Demo Salon Owner", one
event type per demo service, the host working the demo salon's hours), writes the settings
that point the app at it to var/fake-calendly.env, and prints every invitee the app books or
cancels. State lives in memory: after a restart, reconnect in admin.

Plain http to a loopback fake is allowed by the app under DEBUG only (client.secure_enough).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.calendly.tests.fake_calendly import FakeCalendly

DEFAULT_PORT = 8767
DEMO_TZ = "America/New_York"  # seed_demo's business
# seed_demo's services and durations (minutes).
EVENT_TYPES = [("Haircut", 30), ("Beard trim", 15), ("Hair colouring", 120), ("Manicure", 45)]


def env_file() -> Path:
    return Path(settings.VAR_DIR) / "fake-calendly.env"


class Command(BaseCommand):
    help = "Run a fake Calendly (OAuth + API v2) on 127.0.0.1 for local try-outs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=DEFAULT_PORT)
        parser.add_argument(
            "--booked",
            action="append",
            default=[],
            metavar="'YYYY-MM-DD HH:MM'",
            help="A haircut already booked in Calendly at this local time (repeatable).",
        )

    def handle(self, *args, port: int, booked: list[str], **options) -> None:
        calendly = FakeCalendly(port=port, zone=DEMO_TZ)
        try:
            calendly.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port} ({exc}); try --port.") from exc
        try:
            uris = {name: calendly.add_event_type(name, minutes) for name, minutes in EVENT_TYPES}
            for local in booked:
                calendly.book(uris["Haircut"], self._local_time(local))
            self._announce(calendly, booked)
            self._print_invitees(calendly)
        except KeyboardInterrupt:
            self.stdout.write("\nFake Calendly stopped.")
        finally:
            calendly.stop()

    @staticmethod
    def _local_time(value: str) -> datetime:
        try:
            day, clock = value.split()
            return datetime.combine(
                date.fromisoformat(day), dt_time.fromisoformat(clock), tzinfo=ZoneInfo(DEMO_TZ)
            )
        except ValueError as exc:
            raise CommandError(f"--booked {value!r}: use 'YYYY-MM-DD HH:MM'") from exc

    def _announce(self, calendly: FakeCalendly, booked: list[str]) -> None:
        lines = [f"{name}={value}" for name, value in calendly.settings().items()]
        path = env_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        self.stdout.write(
            "\n".join(
                [
                    f"Fake Calendly on {calendly.base_url} (user {calendly.user_email}).",
                    *(f"  a haircut already booked in Calendly: {b} ({DEMO_TZ})" for b in booked),
                    f"Settings written to {path}:",
                    *(f"  {line}" for line in lines),
                    "Start the app with them, in another terminal:",
                    f"  set -a && . {path} && set +a && make run",
                    "Then in admin: Businesses > Demo Salon > Connect Calendly, choose the event "
                    "types and the phone-booking email, and set Booking provider to Calendly.",
                    "Invitees the app books or cancels are printed here. Ctrl+C stops the fake.",
                    "",
                ]
            )
        )

    def _print_invitees(self, calendly: FakeCalendly) -> None:
        seen: dict[str, str] = {}
        zone = ZoneInfo(DEMO_TZ)
        while True:
            for status in ("active", "canceled"):
                for invitee in calendly.invitees(status=status):
                    key = invitee["event_uuid"]
                    if seen.get(key) == status:
                        continue
                    seen[key] = status
                    when = f"{invitee['start'].astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
                    what = "booked" if status == "active" else "cancelled"
                    self.stdout.write(
                        f"{what}: {when} {invitee.get('name', '')} <{invitee.get('email', '')}>"
                    )
            time.sleep(0.5)
