"""The manual test plan for a business that books through Calendly, end to end.

A real Daphne (production-shaped: DEBUG off) and its outbox worker, with the fake Calendly on
loopback; this test plays the staff member (admin over HTTP, following Calendly's consent
redirect like a browser) and Twilio (signed webhooks and the ConversationRelay socket):

1. connect Calendly in admin, map the haircut to a Calendly event type, set the phone-booking
   email, switch the business to the Calendly provider;
2. 2 PM is booked in Calendly and the host only works 2 to 5 that day: a call asking for 2 PM
   is refused with Calendly's times (not our opening hours' 1:30), the caller takes 3 PM and
   the invitee is created at Calendly, then recorded here as Calendly's;
3. another caller asking for 3 PM is refused;
4. the first caller calls back and cancels: the event is cancelled at Calendly;
5. Calendly goes down: a caller hears that we can't book, leaves a message, nothing is
   booked here;
6. disconnect in admin: Calendly revokes our access, the tokens are gone.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from bookings.tests.page_forms import form_values
from calls.tests.live_server import DEMO_TZ, PRODUCTION_SHAPED, an_open_weekday, running_daphne
from calls.tests.twilio_caller import TwilioCaller, new_call_sid
from integrations.calendly.tests.fake_calendly import FakeCalendly

pytestmark = pytest.mark.e2e

ACCOUNT_SID = "AC" + "ca1e" * 8
AUTH_TOKEN = "calendly-plan-auth-token-" + "8" * 12
ADMIN_USER, ADMIN_PASSWORD = "owner", "a-calendly-plan-admin-password-1"
SALON_NUMBER = "+15555550100"  # seed_demo's
PHONE_BOOKINGS = "bookings@demo-salon.example.com"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
WAIT_SECONDS = 10

PREPARE = f"""
from django.contrib.auth.models import User
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
User.objects.create_superuser({ADMIN_USER!r}, "owner@example.com", {ADMIN_PASSWORD!r})
"""


@dataclass
class Server:
    url: str
    database: Path
    log: Path
    calendly: FakeCalendly

    def rows(self, sql: str, *params) -> list[tuple]:
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with FakeCalendly() as calendly:
        env = {
            **PRODUCTION_SHAPED,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            **calendly.env(),
        }
        with running_daphne(tmp_path_factory.mktemp("calendly"), prepare=PREPARE, env=env) as live:
            yield Server(url=live.url, database=live.database, log=live.log, calendly=calendly)


class Staff:
    """A signed-in admin session over HTTP, as a browser would drive it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = requests.Session()
        login = server.url + "/admin/login/"
        self.http.get(login, timeout=10)
        signed_in = self.http.post(
            login,
            data={
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
                "next": "/admin/",
            },
            timeout=10,
        )
        assert signed_in.url == server.url + "/admin/", signed_in.url

    def get(self, path: str) -> requests.Response:
        response = self.http.get(self.server.url + path, timeout=10)
        assert response.status_code == 200, (path, response.status_code)
        return response

    def submit(self, page: requests.Response, **changes) -> requests.Response:
        data = form_values(page.text) | changes
        data["csrfmiddlewaretoken"] = self.http.cookies["csrftoken"]
        response = self.http.post(page.url, data=data, timeout=10)
        assert response.status_code == 200, response.status_code
        return response


@dataclass
class Call:
    answers: list[str]
    end: dict | None


def phone_call(server: Server, caller: str, lines: list[str]) -> Call:
    """Ring the demo salon and say `lines` in turn, answering the routine questions (caller
    ID, the read-back) with yes; hang up when the lines run out."""
    twilio = TwilioCaller(
        public_base_url=server.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID
    )
    call_sid = new_call_sid()
    connect = twilio.ring("demo", call_sid=call_sid, from_=caller, to=SALON_NUMBER)
    answers: list[str] = []
    pending = list(lines)
    with twilio.open_relay(connect.relay.url) as relay:
        relay.setup(call_sid=call_sid, from_=caller, to=SALON_NUMBER)
        said = pending.pop(0)
        for _ in range(10):
            answer = relay.say(said).text
            answers.append(answer)
            if any(end in answer for end in ("You're all set", "That's cancelled", "Goodbye!")):
                return Call(answers=answers, end=relay.expect_end())
            if any(
                q in answer
                for q in ("number you're calling from", "Shall I book it?", "Shall I cancel it?")
            ):
                said = "yes"
            elif pending:
                said = pending.pop(0)
            else:
                return Call(answers=answers, end=None)  # the caller hangs up
    pytest.fail(f"The call went on too long: {answers}")


def confirmed(server: Server) -> list[tuple[datetime, str, str]]:
    rows = server.rows(
        "SELECT b.start, b.provider, c.invitee_uri FROM bookings_booking b"
        " LEFT JOIN calendly_calendlybooking c ON c.booking_id = b.id"
        " WHERE b.status = 'confirmed' ORDER BY b.start"
    )
    return [(datetime.fromisoformat(s).replace(tzinfo=UTC), p, i) for s, p, i in rows]


def wait_until(check) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_the_calendly_plan(server: Server):
    calendly = server.calendly
    day = an_open_weekday()
    month_day = f"{MONTHS[day.month - 1]} {day.day}"
    at = lambda hour, minute=0: datetime(day.year, day.month, day.day, hour, minute, tzinfo=DEMO_TZ)  # noqa: E731
    haircut_type = calendly.add_event_type("Haircut", 30)
    calendly.add_event_type("Beard trim", 15)
    calendly.hours[day.weekday()] = (14, 17)  # the host works 2 to 5 that day
    staff = Staff(server)
    ((business_id,),) = server.rows("SELECT id FROM bookings_business WHERE slug = 'demo'")
    ((haircut_id,),) = server.rows(
        "SELECT id FROM bookings_service WHERE business_id = ? AND name = 'Haircut'", business_id
    )
    business = f"/admin/bookings/business/{business_id}/change/"

    # 1. Connect (Calendly's consent redirects straight back), map the haircut, switch.
    assert "Connect Calendly" in staff.get(business).text
    mapping = staff.get(f"/admin/calendly/{business_id}/connect/")
    assert mapping.url == server.url + f"/admin/calendly/{business_id}/event-types/", mapping.url
    assert "Demo Salon Owner (owner@example.com)" in mapping.text
    saved = staff.submit(
        mapping, **{f"service_{haircut_id}": haircut_type, "invitee_email": PHONE_BOOKINGS}
    )
    assert "Connected as Demo Salon Owner (owner@example.com)" in saved.text
    assert "Haircut as Haircut" in saved.text
    switched = staff.submit(staff.get(business), booking_provider="calendly")
    assert "was changed successfully" in switched.text
    ((status, email),) = server.rows(
        "SELECT status, invitee_email FROM calendly_calendlyconnection"
    )
    assert (status, email) == ("connected", PHONE_BOOKINGS)

    # 2. 2 PM is taken in Calendly: refused with Calendly's times; 3 PM is booked there.
    calendly.book(haircut_type, at(14))
    first = phone_call(
        server,
        "+15555550123",
        [f"Hi, this is Maria, can I get a haircut on {month_day} at 2?", "3 PM please"],
    )
    refusal = next((a for a in first.answers if "already booked" in a), None)
    assert refusal and "2 PM" in refusal, first.answers
    assert "2:30 PM" in refusal and "1:30" not in refusal  # Calendly's hours, not ours
    assert first.end is not None and json.loads(first.end["handoffData"])["reason"] == "booked"
    (maria,) = [i for i in calendly.invitees() if i["name"] == "Maria"]
    assert maria["start"] == at(15)
    assert maria["email"] == PHONE_BOOKINGS
    assert maria["text_reminder_number"] == "+15555550123"
    assert confirmed(server) == [(at(15), "calendly", maria["uri"])]

    # 3. Another caller for 3 PM is refused; Calendly still has one invitee at 3.
    second = phone_call(
        server, "+15555550124", [f"Hi, this is Jo, a haircut on {month_day} at 3 please"]
    )
    assert any("already booked" in a and "3 PM" in a for a in second.answers), second.answers
    assert [i["start"] for i in calendly.invitees() if i["name"] != "Someone"] == [at(15)]

    # 4. Maria calls back and cancels: Calendly cancels the event (from the outbox).
    cancel = phone_call(server, "+15555550123", ["Hi, I need to cancel my haircut"])
    assert any("That's cancelled" in a for a in cancel.answers), cancel.answers
    wait_until(lambda: any(i["name"] == "Maria" for i in calendly.invitees(status="canceled")))
    assert [i["name"] for i in calendly.invitees(status="canceled")] == ["Maria"]
    assert confirmed(server) == []
    wait_until(
        lambda: server.rows("SELECT status FROM calendly_calendlybooking") == [("cancelled",)]
    )
    assert server.rows("SELECT status FROM calendly_calendlybooking") == [("cancelled",)]

    # 5. Calendly is down: the caller is told, leaves a message; nothing is booked here.
    calendly.fail("/event_type_available_times", 503, times=100)
    calendly.fail("/invitees", 503, times=100)
    down = phone_call(
        server,
        "+15555550125",
        [
            f"Hi, this is Sam, a haircut on {month_day} at 4 please",
            "yes",
            "Please call me back about a haircut on Friday, this is Sam",
        ],
    )
    assert any("can't reach our booking calendar" in a for a in down.answers), down.answers
    assert any("leave a message" in a for a in down.answers), down.answers
    assert any("get your message" in a for a in down.answers), down.answers
    assert confirmed(server) == []
    assert not [i for i in calendly.invitees() if i["name"] == "Sam"]
    ((last_error,),) = server.rows("SELECT last_error FROM calendly_calendlyconnection")
    assert "Calendly did not answer" in last_error
    calendly.clear_faults()

    # 6. Disconnect in admin: Calendly revokes our access, the tokens are gone.
    staff.submit(staff.get(f"/admin/calendly/{business_id}/disconnect/"))
    assert calendly.revoked_tokens
    ((status, refresh, access),) = server.rows(
        "SELECT status, refresh_token, access_token FROM calendly_calendlyconnection"
    )
    assert (status, refresh, access) == ("disconnected", None, None)

    # No token ever reached the server's log.
    log = server.log.read_text()
    assert all(token not in log for token in calendly.revoked_tokens)
