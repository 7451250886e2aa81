"""`manage.py run_fake_calendly`: the test suite's fake Calendly, for trying it locally.

It serves Calendly's OAuth and API endpoints on 127.0.0.1 (user "Demo Salon Owner", one
event type per demo service, the host working the demo salon's hours), writes the settings
that point the app at it to var/fake-calendly.env, and prints every invitee the app books or
cancels. State lives in memory: after a restart, reconnect in admin.

Plain http to a loopback fake is allowed by the app under DEBUG only (client.secure_enough).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from integrations.calendar_base.fake_command import DEMO_TZ, RunFakeCommand, local_time
from integrations.calendly.tests.fake_calendly import FakeCalendly

# seed_demo's services and durations (minutes).
EVENT_TYPES = [("Haircut", 30), ("Beard trim", 15), ("Hair colouring", 120), ("Manicure", 45)]


class Command(RunFakeCommand):
    help = "Run a fake Calendly (OAuth + API v2) on 127.0.0.1 for local try-outs."
    vendor = "Calendly"
    env_name = "fake-calendly.env"
    default_port = 8767

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--booked",
            action="append",
            default=[],
            metavar="'YYYY-MM-DD HH:MM'",
            help="A haircut already booked in Calendly at this local time (repeatable).",
        )

    def make_fake(self, port: int) -> FakeCalendly:
        self._seen: dict[str, str] = {}
        return FakeCalendly(port=port, zone=DEMO_TZ)

    def seed(self, calendly: FakeCalendly, *, booked: list[str], **options) -> None:
        uris = {name: calendly.add_event_type(name, minutes) for name, minutes in EVENT_TYPES}
        for local in booked:
            calendly.book(uris["Haircut"], local_time(local, DEMO_TZ, "--booked"))

    def headline(self, calendly: FakeCalendly, *, booked: list[str], **options) -> list[str]:
        return [
            f"Fake Calendly on {calendly.base_url} (user {calendly.user_email}).",
            *(f"  a haircut already booked in Calendly: {b} ({DEMO_TZ})" for b in booked),
        ]

    def next_steps(self) -> list[str]:
        return [
            "Then in admin: Businesses > Demo Salon > Connect Calendly, choose the event "
            "types and the phone-booking email, and set Booking provider to Calendly.",
            "Invitees the app books or cancels are printed here. Ctrl+C stops the fake.",
        ]

    def print_changes(self, calendly: FakeCalendly) -> None:
        zone = ZoneInfo(DEMO_TZ)
        for status in ("active", "canceled"):
            for invitee in calendly.invitees(status=status):
                key = invitee["event_uuid"]
                if self._seen.get(key) == status:
                    continue
                self._seen[key] = status
                when = f"{invitee['start'].astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
                what = "booked" if status == "active" else "cancelled"
                self.stdout.write(
                    f"{what}: {when} {invitee.get('name', '')} <{invitee.get('email', '')}>"
                )
