"""The simulator in a real browser: admin login, the admin index link, a call typed in, a booking.

A real Daphne serves the app on a free loopback port, on its own SQLite file (migrated and
seeded first); a real headless Chromium (the system's, never a downloaded one) drives the page
through Playwright. Nothing is frozen: the call books a weekday a few days from today.

Daphne runs receptionist.asgi:application, the project's own ASGI application.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calls.tests.live_server import DEMO_TZ, an_open_weekday, running_daphne
from receptionist.tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from receptionist.tests.browser import chromium_or_skip as _chromium_or_skip

pytestmark = pytest.mark.browser

ASGI_APP = "receptionist.asgi:application"
SETTINGS = "receptionist.settings"
SCREENSHOT = SCREENSHOTS / "simulator.png"
USERNAME, PASSWORD = "frontdesk", "a-long-test-password-1"
ROSA = "+15555550166"  # a real customer's number (she has a booking)
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
FRESH_TEST_NUMBER = re.compile(r"\+1[2-9]\d\d55501\d\d")
BACKGROUND = "node => getComputedStyle(node).backgroundColor"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Run in the server's environment: the schema, the Demo Salon, and a front-desk login that
# may see businesses and calls and make and change bookings (not a superuser).
PREPARE = f"""
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r}, is_staff=True)
user.user_permissions.set(
    Permission.objects.filter(
        codename__in=["view_business", "add_booking", "change_booking", "view_booking", "view_call"]
    )
)
# A real customer, whose number staff may type only on purpose.
from datetime import timedelta
from django.utils import timezone
from bookings.models import Booking, Business
demo = Business.objects.get(slug="demo")
start = timezone.now().replace(microsecond=0) + timedelta(days=20)
Booking.objects.create(
    business=demo, service=demo.services.get(name="Haircut"), customer_name="Rosa",
    customer_phone={ROSA!r}, start=start, end=start + timedelta(minutes=30), provider="native",
)
"""


@dataclass
class Server:
    url: str
    database: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    _chromium_or_skip()
    with running_daphne(tmp_path, prepare=PREPARE, env={"LOG_LEVEL": "WARNING"}) as live:
        yield Server(url=live.url, database=live.database)


def reply_to(answer: str) -> str | None:
    """What Maria says to each of the receptionist's questions; None once she is booked."""
    if "You're all set" in answer:
        return None
    if "Shall I book it?" in answer:
        return "yes"
    if "number you're calling from" in answer:
        return "yes"
    if "name" in answer:
        return "Maria"
    pytest.fail(f"Unexpected question from the receptionist: {answer!r}")


def bookings_in(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT b.customer_name, b.customer_phone, b.start, b.status, s.name"
            " FROM bookings_booking b JOIN bookings_service s ON s.id = b.service_id"
        ).fetchall()


def calls_in(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT sid, channel, outcome, booking_id FROM calls_call ORDER BY id"
        ).fetchall()


def test_staff_book_a_haircut_through_the_simulator(server: Server):
    from playwright.sync_api import expect, sync_playwright

    day = an_open_weekday()
    spoken_day = f"{MONTHS[day.month - 1]} {day.day}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(10_000)

            page.goto(server.url + "/admin/login/?next=/admin/")
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            expect(page.locator("#simulator-module")).to_contain_text("Try the receptionist")
            page.click("text=Open the call simulator")
            expect(page).to_have_url(server.url + "/simulator/")
            expect(page.locator("#business")).to_have_value("demo")
            expect(page.locator("#caller")).to_have_value("")

            # A real customer's number: the call starts only once staff say it is on purpose.
            page.fill("#caller", ROSA)
            page.click("#call-button")
            expect(page.locator("#status")).to_contain_text("real customer's number")
            expect(page.locator("#call-button")).to_have_text("Start call")
            page.check("#as-customer")
            page.click("#call-button")
            expect(page.locator("#call-button")).to_have_text("Hang up")
            page.click("#call-button")
            expect(page.locator("#result-title")).to_have_text("Call ended: abandoned")
            page.uncheck("#as-customer")
            page.fill("#caller", "")

            page.click("#call-button")
            expect(page.locator("#call-button")).to_have_text("Hang up")
            answers = page.locator('#transcript .bubble-receptionist[data-complete="true"]')
            expect(answers).to_have_count(1)
            expect(answers.nth(0).locator(".text")).to_have_text(
                "Hello, thanks for calling Demo Salon. How can I help you?"
            )
            expect(page.locator("#call-link")).to_have_attribute(
                "href", re.compile(r"^/admin/calls/call/\d+/change/$")
            )

            said = f"Hi, this is Maria, can I get a haircut on {spoken_day} at 3?"
            result = page.locator("#result-title")
            for turn in range(1, 7):
                page.fill("#say", said)
                page.press("#say", "Enter")
                expect(answers).to_have_count(turn + 1)
                said = reply_to(answers.nth(turn).locator(".text").inner_text())
                if said is None:
                    break

            expect(result).to_have_text("Call ended: booked")
            expect(page.locator("#booking-service")).to_have_text("Haircut")
            weekday = WEEKDAYS[day.weekday()]
            expect(page.locator("#booking-when")).to_contain_text(
                f"{weekday}, {spoken_day}, {day.year} at 3:00 PM"
            )
            expect(page.locator("#booking-name")).to_have_text("Maria")
            # No number typed: this trial called from a fresh fictional test number.
            expect(page.locator("#booking-phone")).to_have_text(FRESH_TEST_NUMBER)
            expect(page.locator("#status")).to_contain_text("ended")
            # Caller and receptionist bubbles are told apart at a glance.
            caller_bg = page.locator("#transcript .bubble-caller").first.evaluate(BACKGROUND)
            answer_bg = answers.first.evaluate(BACKGROUND)
            assert caller_bg != answer_bg
            expect(page.locator("#booking-link")).to_have_attribute(
                "href", re.compile(r"^/admin/bookings/booking/\d+/change/$")
            )
            expect(page.locator("#call-button")).to_have_text("Start call")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            page.click("#booking-link")
            # Staff who may simulate may change bookings: the booking opens as a form.
            expect(page.locator("#id_customer_name")).to_have_value("Maria")
        finally:
            browser.close()

    ((name, phone, start, status, service),) = [
        row for row in bookings_in(server.database) if row[0] != "Rosa"
    ]
    assert (name, status, service) == ("Maria", "confirmed", "Haircut")
    assert FRESH_TEST_NUMBER.fullmatch(phone)
    expected_start = datetime(day.year, day.month, day.day, 15, tzinfo=DEMO_TZ)
    assert datetime.fromisoformat(start).replace(tzinfo=ZoneInfo("UTC")) == expected_start
    as_rosa, (sid, channel, outcome, booking_id) = calls_in(server.database)
    assert as_rosa[1:] == ("simulator", "abandoned", None)
    assert sid.startswith("SIM") and (channel, outcome) == ("simulator", "booked")
    assert booking_id is not None
