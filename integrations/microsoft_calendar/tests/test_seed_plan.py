"""The seed document's manual test plan, automated end to end with Outlook.

A real Daphne (production-shaped: DEBUG off) and its outbox worker, with the fake Microsoft
on loopback (https, its own CA, trusted through MICROSOFT_CA_BUNDLE); this test plays the
staff member (admin over HTTP, following Microsoft's sign-in redirect like a browser) and
Twilio (signed webhooks and the ConversationRelay socket):

1. connect Outlook in admin, pick the calendar, switch the business to the Outlook provider;
2. an event at 2 PM in Outlook; a call asking for 2 PM is refused with alternatives, the
   caller takes 3 PM and is booked; the event appears in Outlook with the booking's
   transactionId;
3. another call for 3 PM is refused;
4. disconnect in admin (our tokens are deleted);
5. a call for 2 PM is booked: the calendar is no longer checked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from calls.tests.live_server import DEMO_TZ, PRODUCTION_SHAPED, an_open_weekday, running_daphne
from integrations.google_calendar.tests.connect_steps import local_path
from integrations.google_calendar.tests.test_seed_plan import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    MONTHS,
    PREPARE,
    Server,
    Staff,
    booked_starts,
    business_id,
    phone_call,
    wait_for_rows,
)
from integrations.microsoft_calendar.tests.fake_microsoft import FakeMicrosoft

pytestmark = pytest.mark.e2e

EVENT_WAIT_SECONDS = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with FakeMicrosoft() as microsoft:
        env = {
            **PRODUCTION_SHAPED,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            **microsoft.env(),
        }
        with running_daphne(tmp_path_factory.mktemp("outlook"), prepare=PREPARE, env=env) as live:
            # Server.google carries the fake here: the plan's helpers only read url/rows/log.
            yield Server(url=live.url, database=live.database, log=live.log, google=microsoft)


def connect_outlook(staff: Staff, server: Server, microsoft: FakeMicrosoft) -> requests.Response:
    """Click "Connect Outlook Calendar", pass Microsoft's sign-in (the fake answers at once),
    come back to the callback, land on the calendar picker."""
    start = staff.http.get(
        server.url + f"/admin/outlook-calendar/{business_id(server)}/connect/",
        allow_redirects=False,
        timeout=10,
    )
    assert start.status_code == 302, start.text[:300]
    assert start.headers["Location"].startswith(microsoft.authority)
    # The browser trusts the fake's CA (per request: REQUESTS_CA_BUNDLE would win otherwise).
    signed_in = requests.get(
        start.headers["Location"], allow_redirects=False, timeout=10, verify=microsoft.ca_path
    )
    assert signed_in.status_code == 302
    return staff.get(local_path(signed_in.headers["Location"]))


def wait_for_our_events(microsoft: FakeMicrosoft, count: int) -> list[dict]:
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while len(ours := [e for e in microsoft.events() if e.get("transactionId")]) < count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return ours


def test_the_seed_test_plan_with_outlook(server: Server):
    microsoft: FakeMicrosoft = server.google
    day = an_open_weekday()
    month_day = f"{MONTHS[day.month - 1]} {day.day}"
    two_pm = datetime(day.year, day.month, day.day, 14, tzinfo=DEMO_TZ)
    three_pm = datetime(day.year, day.month, day.day, 15, tzinfo=DEMO_TZ)
    staff = Staff(server)
    business = f"/admin/bookings/business/{business_id(server)}/change/"

    # 1. Connect Outlook in admin, keep the default calendar, switch the provider.
    assert "Connect Outlook Calendar" in staff.get(business).text
    picker = connect_outlook(staff, server, microsoft)
    assert picker.url.startswith(server.url + f"/admin/outlook-calendar/{business_id(server)}/")
    assert "Calendar (default)" in picker.text
    saved = staff.submit(picker)
    assert "Connected as owner@example.com" in saved.text
    switched = staff.submit(staff.get(business), booking_provider="outlook_calendar")
    assert "was changed successfully" in switched.text
    ((provider, status),) = server.rows(
        "SELECT b.booking_provider, c.status FROM bookings_business b"
        " JOIN microsoft_calendar_outlookcalendarconnection c ON c.business_id = b.id"
    )
    assert (provider, status) == ("outlook_calendar", "connected")

    # 2. An event at 2 PM in Outlook: 2 PM is refused with alternatives; 3 PM is booked.
    microsoft.add_event(two_pm, three_pm, subject="Dentist")
    first = phone_call(
        server,
        "+15555550123",
        [f"Hi, this is Maria, can I get a haircut on {month_day} at 2?", "3 PM please"],
    )
    refusal = next((a for a in first.answers if "already booked" in a), None)
    assert refusal and "2 PM" in refusal, first.answers
    assert first.end is not None and json.loads(first.end["handoffData"])["reason"] == "booked"
    assert booked_starts(server) == [three_pm]
    (event,) = wait_for_our_events(microsoft, 1)
    ((event_id, sync),) = wait_for_rows(
        server,
        "SELECT event_id, status FROM microsoft_calendar_outlookeventsync WHERE status = 'synced'",
    )
    assert (event["id"], sync) == (event_id, "synced")
    assert event["start"]["timeZone"] == "America/New_York"
    assert event["start"]["dateTime"].startswith(three_pm.strftime("%Y-%m-%dT15:00"))

    # 3. Another call for 3 PM is refused.
    second = phone_call(
        server, "+15555550124", [f"Hi, this is Jo, a haircut on {month_day} at 3 please"]
    )
    assert any("already booked" in a and "3 PM" in a for a in second.answers), second.answers
    assert booked_starts(server) == [three_pm]

    # 4. Disconnect in admin: our tokens are gone.
    staff.submit(staff.get(f"/admin/outlook-calendar/{business_id(server)}/disconnect/"))
    ((status, refresh, access),) = server.rows(
        "SELECT status, refresh_token, access_token"
        " FROM microsoft_calendar_outlookcalendarconnection"
    )
    assert (status, refresh, access) == ("disconnected", None, None)

    # 5. A call for 2 PM is booked: the calendar is no longer checked.
    third = phone_call(
        server, "+15555550125", [f"Hi, this is Sam, a haircut on {month_day} at 2 please"]
    )
    assert third.end is not None, third.answers
    assert booked_starts(server) == [two_pm, three_pm]

    # Exactly one event was written; no token ever reached the server's log.
    assert len(wait_for_our_events(microsoft, 1)) == 1
    log = server.log.read_text()
    assert "EwBIA8l6BAAU" not in log  # access tokens
    assert "M.C5" not in log  # refresh tokens
