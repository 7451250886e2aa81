"""The seed document's manual test plan, automated end to end.

A real Daphne (production-shaped: DEBUG off) with the fake Google on loopback; this test
plays the staff member (admin over HTTP, following Google's consent redirect like a
browser) and Twilio (signed webhooks and the ConversationRelay socket):

1. connect the calendar in admin and switch the business to the Google Calendar provider;
2. an event at 2 PM in Google; a call asking for 2 PM is refused with alternatives, the
   caller takes 3 PM and is booked; the event appears in Google with our id;
3. another call for 3 PM is refused;
4. disconnect in admin (Google revokes our token);
5. a call for 2 PM is booked: the calendar is no longer checked.
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
from calls.tests.live_server import (
    DEMO_TZ,
    PRODUCTION_SHAPED,
    an_open_weekday,
    running_daphne,
)
from calls.tests.twilio_caller import TwilioCaller, new_call_sid
from integrations.google_calendar.tests.fake_google import FakeGoogle

pytestmark = pytest.mark.e2e

ACCOUNT_SID = "AC" + "5eed" * 8
AUTH_TOKEN = "seed-plan-auth-token-" + "9" * 12
ADMIN_USER, ADMIN_PASSWORD = "owner", "a-seed-plan-admin-password-1"
SALON_NUMBER = "+15555550100"  # seed_demo's
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
EVENT_WAIT_SECONDS = 10

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
    google: FakeGoogle

    def rows(self, sql: str, *params) -> list[tuple]:
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with FakeGoogle() as google:
        env = {
            **PRODUCTION_SHAPED,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            **google.env(),
        }
        with running_daphne(tmp_path_factory.mktemp("seed"), prepare=PREPARE, env=env) as live:
            yield Server(url=live.url, database=live.database, log=live.log, google=google)


# -- Staff in admin -------------------------------------------------------------------------


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
        """Submit the page's form with `changes`, as the browser would."""
        data = form_values(page.text) | changes
        data["csrfmiddlewaretoken"] = self.http.cookies["csrftoken"]
        response = self.http.post(page.url, data=data, timeout=10)
        assert response.status_code == 200, response.status_code
        return response


def business_id(server: Server) -> int:
    ((pk,),) = server.rows("SELECT id FROM bookings_business WHERE slug = 'demo'")
    return pk


# -- A caller on the phone ------------------------------------------------------------------


@dataclass
class Call:
    answers: list[str]
    end: dict | None


def phone_call(server: Server, caller: str, lines: list[str]) -> Call:
    """Ring the demo salon and say `lines` in turn, answering the receptionist's routine
    questions (caller ID, read-back) with yes; hang up when the lines run out."""
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
        for _ in range(8):
            answer = relay.say(said).text
            answers.append(answer)
            if "You're all set" in answer:
                return Call(answers=answers, end=relay.expect_end())
            if "number you're calling from" in answer or "Shall I book it?" in answer:
                said = "yes"
            elif pending:
                said = pending.pop(0)
            else:
                return Call(answers=answers, end=None)  # the caller hangs up
    pytest.fail(f"The call went on too long: {answers}")


def booked_starts(server: Server) -> list[datetime]:
    rows = server.rows("SELECT start FROM bookings_booking WHERE status = 'confirmed'")
    return sorted(datetime.fromisoformat(start).replace(tzinfo=UTC) for (start,) in rows)


def wait_for_events(google: FakeGoogle, count: int) -> list[dict]:
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while len(google.events("primary")) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return google.events("primary")


def wait_for_rows(server: Server, sql: str) -> list[tuple]:
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while not (rows := server.rows(sql)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return rows


# -- The plan -------------------------------------------------------------------------------


def test_the_seed_test_plan(server: Server):
    google = server.google
    day = an_open_weekday()
    month_day = f"{MONTHS[day.month - 1]} {day.day}"
    two_pm = datetime(day.year, day.month, day.day, 14, tzinfo=DEMO_TZ)
    three_pm = datetime(day.year, day.month, day.day, 15, tzinfo=DEMO_TZ)
    staff = Staff(server)
    business = f"/admin/bookings/business/{business_id(server)}/change/"

    # 1. Connect the calendar in admin, then switch the business's provider.
    page = staff.get(business)
    assert "Connect Google Calendar" in page.text
    picker = staff.get(f"/admin/google-calendar/{business_id(server)}/connect/")
    assert picker.url.startswith(server.url + f"/admin/google-calendar/{business_id(server)}/")
    saved = staff.submit(picker)
    assert "Connected as owner@example.com" in saved.text
    switched = staff.submit(staff.get(business), booking_provider="google_calendar")
    assert "was changed successfully" in switched.text
    ((provider, status),) = server.rows(
        "SELECT b.booking_provider, c.status FROM bookings_business b"
        " JOIN google_calendar_googlecalendarconnection c ON c.business_id = b.id"
    )
    assert (provider, status) == ("google_calendar", "connected")

    # 2. An event at 2 PM in Google: 2 PM is refused with alternatives; 3 PM is booked.
    google.add_event("primary", two_pm, three_pm, summary="Dentist")
    first = phone_call(
        server,
        "+15555550123",
        [f"Hi, this is Maria, can I get a haircut on {month_day} at 2?", "3 PM please"],
    )
    refusal = next((a for a in first.answers if "already booked" in a), None)
    assert refusal, first.answers
    assert "2 PM" in refusal
    assert first.end is not None and json.loads(first.end["handoffData"])["reason"] == "booked"
    assert booked_starts(server) == [three_pm]
    events = [e for e in wait_for_events(google, 2) if e["summary"] != "Dentist"]
    # Google has the event before our record of it is saved: wait for that too.
    ((event_id, sync),) = wait_for_rows(
        server,
        "SELECT event_id, status FROM google_calendar_calendareventsync WHERE status = 'synced'",
    )
    assert sync == "synced"
    assert [e["id"] for e in events] == [event_id]
    assert events[0]["start"]["timeZone"] == "America/New_York"

    # 3. Another call for 3 PM is refused.
    second = phone_call(
        server, "+15555550124", [f"Hi, this is Jo, a haircut on {month_day} at 3 please"]
    )
    assert any("already booked" in a and "3 PM" in a for a in second.answers), second.answers
    assert booked_starts(server) == [three_pm]

    # 4. Disconnect in admin: Google revokes our access, the tokens are gone.
    confirm = staff.get(f"/admin/google-calendar/{business_id(server)}/disconnect/")
    staff.submit(confirm)
    assert google.revoked_tokens
    ((status, refresh, access),) = server.rows(
        "SELECT status, refresh_token, access_token FROM google_calendar_googlecalendarconnection"
    )
    assert (status, refresh, access) == ("disconnected", None, None)

    # 5. A call for 2 PM is booked: the calendar is no longer checked.
    third = phone_call(
        server, "+15555550125", [f"Hi, this is Sam, a haircut on {month_day} at 2 please"]
    )
    assert third.end is not None, third.answers
    assert booked_starts(server) == [two_pm, three_pm]

    # No token ever reached the server's log.
    log = server.log.read_text()
    assert "ya29." not in log and "1//" not in log
