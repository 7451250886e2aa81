"""A phone call booked by the LLM receptionist end to end: this test plays Twilio against a
real Daphne whose LLM_* settings point at the fake model server on loopback.

The Demo Salon's receptionist settings choose the "llm" engine (as ops would in admin). The
fake serves BookingModel, a stand-in that checks, reads back and books like a good model;
the tools, the consent rule, the booking and the confirmation are all the product's own.
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

from calls.tests.live_server import (
    DEMO_TZ,
    PRODUCTION_SHAPED,
    an_open_weekday,
    running_daphne,
)
from calls.tests.llm.fake_openai import BookingModel, FakeOpenAI
from calls.tests.twilio_caller import TwilioCaller, new_call_sid

pytestmark = pytest.mark.e2e

ACCOUNT_SID = "AC" + "11e2" * 8
AUTH_TOKEN = "llm-e2e-auth-token-" + "5" * 12
CALLER, SALON_NUMBER = "+15555550123", "+15555550100"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip

PREPARE = """
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
from bookings.models import Business
from calls.models import ReceptionistSettings
ReceptionistSettings.objects.create(business=Business.objects.get(slug="demo"), engine="llm")
"""


@dataclass
class Server:
    url: str
    database: Path
    log: Path
    model: FakeOpenAI

    def rows(self, sql: str, *params) -> list[tuple]:
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with FakeOpenAI(default=BookingModel(), api_key="e2e-llm-key") as model:
        env = {
            **PRODUCTION_SHAPED,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "LLM_BASE_URL": model.base_url,
            "LLM_API_KEY": model.api_key,
            "LLM_MODEL": "fake-e2e-model",
        }
        with running_daphne(tmp_path_factory.mktemp("llm-e2e"), prepare=PREPARE, env=env) as live:
            yield Server(url=live.url, database=live.database, log=live.log, model=model)


def test_a_caller_books_a_haircut_with_the_llm_receptionist(server: Server):
    twilio = TwilioCaller(
        public_base_url=server.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID
    )
    call_sid = new_call_sid()
    day = an_open_weekday()
    month_day = f"{MONTHS[day.month - 1]} {day.day}"

    connect = twilio.ring("demo", call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
    with twilio.open_relay(connect.relay.url) as relay:
        relay.setup(call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
        offer = relay.say(f"Hi, this is Maria, can I get a haircut on {month_day} at 3 PM?")
        booked = relay.say("yes please")
        end = relay.expect_end()

    assert offer.text.startswith("Let me check that for you. I have ")
    assert offer.text.endswith(" at 3 PM free for a haircut. Shall I book it for Maria?")
    assert len(offer.tokens) > 1, "the answer was streamed in clauses, not one blob"
    assert booked.text.startswith("Great, booking that now. You're all set for ")
    assert booked.text.endswith("I'll text you a confirmation. Goodbye!")
    assert json.loads(end["handoffData"]) == {"reason": "booked"}
    twilio.end_session(connect.action, call_sid=call_sid, handoff_data=end["handoffData"])

    ((name, phone, start, status, service, source),) = server.rows(
        "SELECT b.customer_name, b.customer_phone, b.start, b.status, s.name, b.source_call_sid"
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

    ((engine, outcome, events),) = _call_once_ended(server, call_sid)
    assert (engine, outcome) == ("llm", "booked")
    assert json.loads(events) == []

    # What the model was sent and told: our prompt, our tools, and their results.
    requests = server.model.requests
    assert [r.body["model"] for r in requests] == ["fake-e2e-model"] * 4
    assert "Demo Salon" in requests[0].messages[0]["content"]
    checked, booked_result = requests[3].tool_results()
    assert checked["available"] is True and checked["start"] == f"{day:%Y-%m-%d} 15:00"
    assert booked_result["booked"] is True
    assert "e2e-llm-key" not in server.log.read_text()


def _call_once_ended(server: Server, call_sid: str) -> list[tuple]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = server.rows(
            "SELECT engine, outcome, events FROM calls_call WHERE sid = ? AND ended_at IS NOT NULL",
            call_sid,
        )
        if rows:
            return rows
        time.sleep(0.1)
    pytest.fail(f"call {call_sid} never recorded its end")
