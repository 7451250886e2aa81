"""A phone call end to end, with this test playing Twilio against a real Daphne.

The server is a separate process (receptionist.asgi:application on a free loopback port) on its
own migrated and seeded SQLite file, configured like production (DEBUG off, a SECRET_KEY, the
Twilio SMS backend), with Twilio's Messages API faked on loopback. The test rings the voice
webhook, follows the TwiML to the ConversationRelay socket, books a haircut by talking, ends
the session through the <Connect action> URL, and then checks what the business would see:
the booking, the confirmation text, and the call's transcript in the admin.

Nothing is frozen: the call books 3 PM on a weekday a few days from today.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from twilio.request_validator import RequestValidator
from websockets.exceptions import InvalidStatus

from calls.tests.fake_twilio import FakeTwilio
from calls.tests.live_server import (
    DEMO_TZ,
    PRODUCTION_SHAPED,
    an_open_weekday,
    running_daphne,
)
from calls.tests.twilio_caller import TwilioCaller, new_call_sid

pytestmark = pytest.mark.e2e

ASGI_APP = "receptionist.asgi:application"
ACCOUNT_SID = "AC" + "e2e0" * 8
AUTH_TOKEN = "e2e-test-auth-token-" + "7" * 12
ADMIN_USER, ADMIN_PASSWORD = "owner", "an-e2e-admin-password-1"
CALLER, SALON_NUMBER = "+15555550123", "+15555550100"  # seed_demo's number
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SMS_WAIT_SECONDS = 10

# Run in the server's environment before it starts: the schema, the Demo Salon, an owner.
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
    twilio: FakeTwilio

    def caller(self) -> TwilioCaller:
        return TwilioCaller(
            public_base_url=self.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID
        )

    def rows(self, sql: str, *params) -> list[tuple]:
        # A Django-free reader of the server's own database file.
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio:
        production_shaped = {
            **PRODUCTION_SHAPED,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SMS_BACKEND": "twilio",
            "TWILIO_API_BASE_URL": twilio.base_url,
        }
        with running_daphne(
            tmp_path_factory.mktemp("e2e"), prepare=PREPARE, env=production_shaped
        ) as live:
            yield Server(url=live.url, database=live.database, log=live.log, twilio=twilio)


# -- What the caller says -----------------------------------------------------------------


def nth(n: int) -> str:
    return f"{n}{'th' if 11 <= n <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def reply_to(answer: str) -> str | None:
    """What Maria says to each of the receptionist's questions; None once she is booked."""
    if "You're all set" in answer:
        return None
    if "Shall I book it?" in answer:
        return "yes"
    if "number you're calling from" in answer:
        return "yes"
    pytest.fail(f"Unexpected question from the receptionist: {answer!r}")


# -- The call -----------------------------------------------------------------------------


def test_a_caller_books_a_haircut_over_the_phone(server: Server):
    twilio = server.caller()
    call_sid = new_call_sid()
    day = an_open_weekday()
    month_day = f"{MONTHS[day.month - 1]} {nth(day.day)}"

    connect = twilio.ring("demo", call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
    assert connect.action == f"{server.url}/voice/session-ended/demo/"
    ws_base = server.url.replace("http://", "ws://")
    assert connect.relay.url == f"{ws_base}/ws/voice/demo/{call_sid}/"
    assert (
        connect.relay.welcome_greeting
        == "Hello, thanks for calling Demo Salon. How can I help you?"
    )
    assert {"Haircut", "Beard trim", "Manicure"} <= set(connect.relay.hints)

    said, answers = f"Hi, this is Maria, can I get a haircut on {month_day} at 3?", []
    with twilio.open_relay(connect.relay.url) as relay:
        relay.setup(call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
        for _ in range(6):
            answer = relay.say(said)
            answers.append((said, answer))
            said = reply_to(answer.text)
            if said is None:
                break
        end = relay.expect_end()

    spoken = [answer.text for _, answer in answers]
    assert "number you're calling from" in spoken[0]
    readback = f"A haircut for Maria on {WEEKDAYS[day.weekday()]}, {month_day} at 3 PM."
    assert spoken[-2] == f"{readback} Shall I book it?"
    assert spoken[-1].startswith("You're all set, Maria: a haircut on ")
    assert f"{month_day} at 3 PM" in spoken[-1] and spoken[-1].endswith("goodbye!")
    assert any(len(answer.tokens) > 1 for answer in (a for _, a in answers)), [
        a.tokens for _, a in answers
    ]  # streamed in pieces, not as one blob
    assert isinstance(end["handoffData"], str)
    assert json.loads(end["handoffData"])["reason"] == "booked"

    hangup = twilio.end_session(connect.action, call_sid=call_sid, handoff_data=end["handoffData"])
    assert hangup.status_code == 200
    assert hangup.text.replace(" ", "").endswith("<Response><Hangup/></Response>")

    # The booking, at 3 PM in New York, stored as its UTC instant.
    ((booking_id, name, phone, start, status, service, source),) = server.rows(
        "SELECT b.id, b.customer_name, b.customer_phone, b.start, b.status, s.name,"
        " b.source_call_sid"
        " FROM bookings_booking b JOIN bookings_service s ON s.id = b.service_id"
    )
    assert (name, phone, status, service, source) == (
        "Maria",
        CALLER,
        "confirmed",
        "Haircut",
        call_sid,
    )
    three_pm = datetime(day.year, day.month, day.day, 15, tzinfo=DEMO_TZ)
    assert datetime.fromisoformat(start).replace(tzinfo=UTC) == three_pm

    # The confirmation text, sent in the background, reached Twilio exactly once.
    texts = _texts_after_waiting(server.twilio)
    assert len(texts) == 1, texts
    (text,) = texts
    assert (text["to"], text["from"]) == (CALLER, SALON_NUMBER)
    assert f"{three_pm:%a, %b} {day.day} at 3:00 PM" in text["body"]
    assert all(request.authorized for request in server.twilio.requests)

    call_id = _call_once_recorded(server, call_sid)

    # The call's record: who called, how it went, how Twilio's session ended.
    ((channel, from_number, to_number, outcome, booked, session, ended_at),) = server.rows(
        "SELECT channel, from_number, to_number, outcome, booking_id, session_status, ended_at"
        " FROM calls_call WHERE sid = ?",
        call_sid,
    )
    assert (channel, from_number, to_number, outcome, booked, session) == (
        "phone",
        CALLER,
        SALON_NUMBER,
        "booked",
        booking_id,
        "completed",
    )
    assert ended_at is not None

    # What the owner sees in the admin.
    page = _admin_page(server, f"/admin/calls/call/{call_id}/change/")
    assert _readonly(page, "outcome") == "Booked"
    assert _readonly(page, "session_status") == "completed"
    transcript = _transcript(page)
    assert transcript[0] == ("Receptionist", connect.relay.welcome_greeting)
    expected = []
    for caller_said, answer in answers:
        expected += [("Caller", caller_said), ("Receptionist", answer.text)]
    assert transcript[1:] == [*expected, ("System", "Call ended (booked).")]
    assert AUTH_TOKEN not in page and AUTH_TOKEN not in server.log.read_text()


def _texts_after_waiting(twilio: FakeTwilio) -> list[dict]:
    deadline = time.monotonic() + SMS_WAIT_SECONDS
    while not twilio.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # a duplicate would follow right behind
    return list(twilio.messages)


def _call_once_recorded(server: Server, call_sid: str) -> int:
    """The Call's id once the session has written its last turn: Twilio requests the action
    URL as the socket closes, and the server finishes the record in the background."""
    deadline = time.monotonic() + 5
    while True:
        rows = server.rows(
            "SELECT c.id FROM calls_call c JOIN calls_callturn t ON t.call_id = c.id"
            " WHERE c.sid = ? AND t.speaker = 'system' AND c.ended_at IS NOT NULL",
            call_sid,
        )
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert rows, f"call {call_sid} never recorded its end"
    return rows[0][0]


def _admin_page(server: Server, path: str) -> str:
    browser = requests.Session()
    login = server.url + "/admin/login/"
    assert browser.get(login, timeout=10).status_code == 200
    signed_in = browser.post(
        login,
        data={
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "next": path,
        },
        timeout=10,
    )
    assert signed_in.status_code == 200 and signed_in.url == server.url + path, signed_in.url
    return signed_in.text


def _readonly(page: str, field: str) -> str:
    match = re.search(
        rf'field-{field}\b.*?<div class="readonly">(.*?)</div>', page, flags=re.DOTALL
    )
    assert match, f"no {field} on the page"
    return html.unescape(match.group(1)).strip()


def _transcript(page: str) -> list[tuple[str, str]]:
    turns = re.findall(
        r'<div class="call-turn-meta">(\w+) .*?<div class="call-turn-text">(.*?)</div>',
        page,
        flags=re.DOTALL,
    )
    assert turns, "no transcript on the page"
    return [(speaker, html.unescape(text)) for speaker, text in turns]


# -- Who may call in ------------------------------------------------------------------------


def test_unsigned_requests_and_sockets_are_refused(server: Server):
    twilio = server.caller()
    call_sid = new_call_sid()
    params = twilio.incoming_params(call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
    url = server.url + "/voice/incoming/demo/"
    forged = RequestValidator("not-the-auth-token").compute_signature(url, params)
    assert twilio.post(url, params, signature=forged).status_code == 403
    assert twilio.post(url, params, signature="").status_code == 403
    tampered = twilio.signature(url, params)  # signed, then the form changed on the way
    assert (
        twilio.post(url, {**params, "From": "+15555550999"}, signature=tampered).status_code == 403
    )
    assert server.rows("SELECT id FROM calls_call WHERE sid = ?", call_sid) == []

    real = twilio.ring("demo", call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
    wrong = twilio.signature(real.relay.url + "?other=1")  # signed over another URL
    with (
        pytest.raises(InvalidStatus) as refused,
        twilio.open_relay(real.relay.url, signature=wrong),
    ):
        pass
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus), twilio.open_relay(real.relay.url, signature=""):
        pass
