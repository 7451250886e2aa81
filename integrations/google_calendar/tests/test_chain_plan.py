"""The seed test plan once more, with the business on "Several calendars" (native + Google)
instead of the Google provider, end to end: a real Daphne (DEBUG off), the fake Google on
loopback, staff in admin over HTTP and Twilio's signed webhooks and relay socket.

1. connect Google, choose "Several calendars" checking it and writing events to it;
2. an event at 2 PM in Google refuses 2 PM; 3 PM is booked and its event written;
3. another caller for 3 PM is refused;
4. Google stops accepting our token: the next caller is still booked (degraded), the
   connection says "Needs reconnect", and the staff are emailed once with the link;
5. the kill switch: the business list flips the provider to native; 2 PM is then booked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from calls.tests.live_server import DEMO_TZ, PRODUCTION_SHAPED, an_open_weekday, running_daphne
from integrations.google_calendar.tests.fake_google import FakeGoogle
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
    wait_for_events,
    wait_for_rows,
)

pytestmark = pytest.mark.e2e

STAFF_EMAIL = "owner@demo.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with FakeGoogle() as google:
        env = {
            **PRODUCTION_SHAPED,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            **google.env(),
        }
        with running_daphne(tmp_path_factory.mktemp("chain"), prepare=PREPARE, env=env) as live:
            yield Server(url=live.url, database=live.database, log=live.log, google=google)


def wait_for_log(server: Server, text: str, seconds: float = 10) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log = server.log.read_text()
        if text in log:
            return log
        time.sleep(0.1)
    pytest.fail(f"{text!r} never appeared in the server's log")


def test_the_plan_with_several_calendars(server: Server):
    google = server.google
    day = an_open_weekday()
    month_day = f"{MONTHS[day.month - 1]} {day.day}"
    two_pm = datetime(day.year, day.month, day.day, 14, tzinfo=DEMO_TZ)
    three_pm = datetime(day.year, day.month, day.day, 15, tzinfo=DEMO_TZ)
    four_pm = datetime(day.year, day.month, day.day, 16, tzinfo=DEMO_TZ)
    staff = Staff(server)
    business = f"/admin/bookings/business/{business_id(server)}/change/"

    # 1. Connect Google; switch to the chain; tick Google and write events there.
    staff.submit(staff.get(f"/admin/google-calendar/{business_id(server)}/connect/"))
    switched = staff.submit(
        staff.get(business), booking_provider="chain", notification_emails=STAFF_EMAIL
    )
    assert "was changed successfully" in switched.text
    page = staff.get(business)
    assert "Calendars checked for busy times" in page.text
    saved = staff.submit(
        page, option_sources=["google_calendar"], option_write_events_to="google_calendar"
    )
    assert "was changed successfully" in saved.text, saved.text[-2000:]
    ((provider, options),) = server.rows(
        "SELECT booking_provider, provider_options FROM bookings_business"
    )
    assert provider == "chain" and '"google_calendar"' in options

    # 2. Busy in Google at 2 PM: refused; 3 PM booked, with its event.
    google.add_event("primary", two_pm, three_pm, summary="Dentist")
    first = phone_call(
        server,
        "+15555550123",
        [f"Hi, this is Maria, can I get a haircut on {month_day} at 2?", "3 PM please"],
    )
    assert any("already booked" in a and "2 PM" in a for a in first.answers), first.answers
    assert first.end is not None
    assert booked_starts(server) == [three_pm]
    events = [e for e in wait_for_events(google, 2) if e["summary"] != "Dentist"]
    ((event_id,),) = wait_for_rows(
        server, "SELECT event_id FROM google_calendar_calendareventsync WHERE status = 'synced'"
    )
    ((provider_used,),) = server.rows("SELECT provider FROM bookings_booking")
    assert provider_used == "chain" and [e["id"] for e in events] == [event_id]

    # 3. Another caller for 3 PM is refused.
    second = phone_call(
        server, "+15555550124", [f"Hi, this is Jo, a haircut on {month_day} at 3 please"]
    )
    assert any("already booked" in a and "3 PM" in a for a in second.answers), second.answers

    # 4. Google refuses our token: the caller is still booked; staff are told, once.
    google.expire_access_tokens()
    google.invalidate_refresh_tokens()
    third = phone_call(
        server, "+15555550125", [f"Hi, this is Sam, a haircut on {month_day} at 4 please"]
    )
    assert third.end is not None, third.answers
    assert booked_starts(server) == [three_pm, four_pm]
    ((status,),) = server.rows("SELECT status FROM google_calendar_googlecalendarconnection")
    assert status == "needs_reconnect"
    log = wait_for_log(server, "Subject: Demo Salon: Google Calendar needs reconnecting")
    assert f"To: {STAFF_EMAIL}" in log
    assert f"{server.url}/admin/bookings/business/{business_id(server)}/change/" in log

    # 5. The kill switch: native again from the business list; 2 PM is bookable then.
    changelist = staff.get("/admin/bookings/business/")
    staff.submit(changelist, **{"form-0-booking_provider": "native", "_save": "Save"})
    ((provider,),) = server.rows("SELECT booking_provider FROM bookings_business")
    assert provider == "native"
    fourth = phone_call(
        server, "+15555550126", [f"Hi, this is Lee, a haircut on {month_day} at 2 please"]
    )
    assert fourth.end is not None, fourth.answers
    assert booked_starts(server) == [two_pm, three_pm, four_pm]
    log = server.log.read_text()
    assert log.count("Subject: Demo Salon: Google Calendar needs reconnecting") == 1
    assert "ya29." not in log and "1//" not in log
