"""A Daphne killed (SIGKILL) right after a call's booking commits: the call still ends linked
to its booking with the outcome "booked", and the customer's text still goes out.

Played like Twilio against real servers: the first Daphne dies mid-call; Twilio's
<Connect action> request then reaches another process on the same database (production runs
several), and a worker sends what the dead process had queued.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from calls.tests.fake_twilio import FakeTwilio
from calls.tests.live_server import (
    PRODUCTION_SHAPED,
    an_open_weekday,
    running_daphne,
    server_environment,
)
from calls.tests.twilio_caller import TwilioCaller, new_call_sid

pytestmark = pytest.mark.e2e

ACCOUNT_SID = "AC" + "c4a5" * 8
AUTH_TOKEN = "crash-test-auth-token-" + "9" * 10
CALLER, SALON_NUMBER = "+15555550142", "+15555550100"  # seed_demo's number
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
PREPARE = """
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
"""
CRASHING_APP = "calls.tests.crash_after_booking_asgi:application"


def rows(database: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return db.execute(sql, params).fetchall()


def test_a_call_killed_after_its_booking_still_ends_booked_and_texts(tmp_path):
    env = {
        **PRODUCTION_SHAPED,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SMS_BACKEND": "twilio",
        # Only the worker sends: the dying process must not get the text out first.
        "OUTBOX_RUN_IN_PROCESS": "false",
    }
    day = an_open_weekday()
    call_sid = new_call_sid()
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as fake_twilio:
        env["TWILIO_API_BASE_URL"] = fake_twilio.base_url
        with running_daphne(tmp_path, prepare=PREPARE, env=env, app=CRASHING_APP) as doomed:
            twilio = TwilioCaller(
                public_base_url=doomed.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID
            )
            connect = twilio.ring("demo", call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
            with twilio.open_relay(connect.relay.url) as relay:
                relay.setup(call_sid=call_sid, from_=CALLER, to=SALON_NUMBER)
                answer = relay.say(
                    f"Hi, this is Maria, can I get a haircut on {MONTHS[day.month - 1]} "
                    f"{day.day} at 3?"
                )
                if "number you're calling from" in answer.text:
                    answer = relay.say("yes")
                assert "Shall I book it?" in answer.text, answer.text
                with pytest.raises(ConnectionClosed):
                    relay.say("yes")  # the booking commits, and the server dies
            database = doomed.database

        ((booking_id, status),) = rows(
            database, "SELECT id, status FROM bookings_booking WHERE source_call_sid = ?", call_sid
        )
        assert status == "confirmed"
        assert rows(database, "SELECT outcome, booking_id FROM calls_call WHERE sid = ?",
                    call_sid) == [("booked", booking_id)]  # fmt: skip

        # Twilio's session ended with an error; it tells another process.
        with running_daphne(tmp_path, prepare="", env=env) as survivor:
            twilio.public_base_url = survivor.url
            action = connect.action.replace(doomed.url, survivor.url)
            response = twilio.post(
                action,
                {
                    "AccountSid": ACCOUNT_SID,
                    "CallSid": call_sid,
                    "SessionStatus": "failed",
                    "ErrorCode": "64105",
                    "ErrorMessage": "WebSocket closed unexpectedly",
                },
            )
            assert response.status_code == 200
            assert "<Hangup" in response.text
        ((outcome, linked, ended_at),) = rows(
            database, "SELECT outcome, booking_id, ended_at FROM calls_call WHERE sid = ?", call_sid
        )
        assert (outcome, linked) == ("booked", booking_id)
        assert ended_at is not None

        # What the dead process queued in the booking's transaction, a worker sends.
        subprocess.run(
            [sys.executable, "manage.py", "run_worker", "--once"],
            cwd=settings.BASE_DIR,
            env=server_environment(database, env),
            check=True,
            timeout=60,
        )
        texts = [r for r in fake_twilio.messages if r["to"] == CALLER]
        assert len(texts) == 1, fake_twilio.messages
