"""The pages staff open first, in headless Chromium against a real Daphne: the landing page,
and admin's list pages at a laptop's 1280 px with no sideways scrolling. Screenshots go to
var/screenshots/ for a person to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from calls.tests.live_server import LiveServer, running_daphne
from receptionist.tests.browser import chromium_or_skip, launch, screenshot, sideways_overflow

pytestmark = pytest.mark.browser

USERNAME, PASSWORD = "owner", "a-long-test-password-2"

# A salon with a few days of real-looking activity: bookings, calls (Twilio-length SIDs,
# every outcome), texts and a worker that has reported in.
PREPARE = f"""
import datetime as dt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from bookings import heartbeat
from bookings.models import Booking, Business, DateException
from calls.models import Call, CallTurn
from calls.sms.models import SmsMessage
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
User.objects.create_superuser({USERNAME!r}, password={PASSWORD!r})
salon = Business.objects.get(slug="demo")
today = timezone.now().astimezone(salon.tz).date()
services = list(salon.services.order_by("name"))
names = ["Maria Gonzalez", "Jo", "Alexandra Featherstonehaugh", "Sam Lee", "Priya Raman"]
for day in range(-2, 5):
    date = today + dt.timedelta(days=day)
    for n, hour in enumerate((9, 11, 14, 16)):
        start = dt.datetime.combine(date, dt.time(hour, 15 * (n % 2)), tzinfo=salon.tz)
        service = services[(day + n) % len(services)]
        booking = Booking.objects.create(
            business=salon, service=service, customer_name=names[(day + n) % len(names)],
            customer_phone=f"+1212555{{(day + 2) * 10 + n:04d}}", start=start,
            end=start + service.duration, provider="native",
            status="cancelled" if (day + n) % 5 == 0 else "confirmed",
            confirmed_by_text_at=timezone.now() if n == 1 else None,  # answered Y
        )
        call = Call.objects.create(
            sid="CA" + f"{{(day + 2) * 10 + n:032x}}", business=salon,
            from_number=booking.customer_phone, to_number=salon.phone_number,
            outcome=["booked", "booked", "message_taken", "abandoned"][n], booking=booking,
            ended_at=timezone.now(),
        )
        called = start - dt.timedelta(days=7, hours=n)
        Call.objects.filter(pk=call.pk).update(  # calls last minutes, not the week since
            started_at=called, ended_at=called + dt.timedelta(minutes=1 + n, seconds=17 * n))
        CallTurn.objects.bulk_create(
            CallTurn(call=call, speaker="receptionist", text="...", at=start,
                     first_token_ms=180 + 37 * ((day + 2) * 4 + n + t) % 400)
            for t in range(3)
        )
        SmsMessage.objects.create(
            booking=booking, kind="booking_confirmation", to=booking.customer_phone,
            sender=salon.phone_number, body="Hi", status="sent",
            provider_sid="SM" + "f" * 32, sent_at=timezone.now(), attempts=1,
        )
DateException.objects.create(business=salon, date=today + dt.timedelta(days=3), closed=True,
                             note="Staff training")
heartbeat.beat("test-worker:1", started_at=timezone.now())
"""

LIST_PAGES = {
    "business-list": "/admin/bookings/business/",
    "booking-list": "/admin/bookings/booking/",
    "call-list": "/admin/calls/call/",
    "sms-list": "/admin/calls/smsmessage/",
    "outbox-list": "/admin/bookings/outboxtask/",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    chromium_or_skip()
    workdir: Path = tmp_path_factory.mktemp("pages")
    with running_daphne(workdir, prepare=PREPARE, env={"LOG_LEVEL": "WARNING"}) as live:
        yield live


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def logged_in(browser, server, *, width: int = 1280, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(10_000)
    page.goto(server.url + "/admin/login/?next=/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(server.url + "/admin/")
    return page


def test_landing_page_shows_links_and_health(browser, server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server.url + "/")
    expect(page.locator("#health")).to_contain_text("Ready to take calls")
    expect(page.locator("#health")).to_contain_text("Database")
    expect(page.locator("#health")).to_contain_text("Worker")
    assert page.locator("a", has_text="Admin").first.get_attribute("href") == "/admin/"
    screenshot(page, "landing")
    assert sideways_overflow(page) == 0
    page.close()


@pytest.mark.parametrize("name", list(LIST_PAGES))
def test_list_pages_fit_1280_px(browser, server, name):
    page = logged_in(browser, server)
    page.goto(server.url + LIST_PAGES[name])
    screenshot(page, name)
    assert sideways_overflow(page) == 0
    page.close()


def schedule_url(server, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{server.url}/admin/bookings/business/1/schedule/" + (f"?{query}" if query else "")


def test_schedule_day_view(browser, server):
    from playwright.sync_api import expect

    page = logged_in(browser, server)
    page.click("text=Schedule")
    expect(page.locator("section.schedule-day")).to_have_count(1)
    bookings = page.locator(".schedule-booking")
    expect(bookings).to_have_count(4)
    expect(page.locator(".schedule-texted")).to_have_count(1)
    expect(page.locator(".schedule-texted")).to_be_visible()
    screenshot(page, "schedule-day")
    assert sideways_overflow(page) == 0
    # Every booking is a link to its admin page.
    bookings.first.click()
    expect(page).to_have_url(re.compile(r"/admin/bookings/booking/\d+/change/$"))
    page.close()


def test_schedule_week_view(browser, server):
    from playwright.sync_api import expect

    page = logged_in(browser, server)
    page.goto(schedule_url(server, view="week"))
    expect(page.locator("section.schedule-day")).to_have_count(7)
    expect(page.locator(".schedule-special")).to_have_count(1)
    screenshot(page, "schedule-week")
    assert sideways_overflow(page) == 0
    page.click("text=Next week")
    expect(page.locator("h1")).to_contain_text("Week of")
    page.close()


def test_schedule_on_a_phone(browser, server):
    from playwright.sync_api import expect

    page = logged_in(browser, server, width=390, height=844)
    page.goto(schedule_url(server, view="week"))
    expect(page.locator("section.schedule-day")).to_have_count(7)
    screenshot(page, "schedule-phone")
    assert sideways_overflow(page) == 0
    page.close()


def test_dashboard(browser, server):
    from playwright.sync_api import expect

    page = logged_in(browser, server)
    page.click("text=Dashboard")
    expect(page.locator("#figure-calls")).to_have_text("28")
    expect(page.locator("svg.chart")).to_have_count(3)
    screenshot(page, "dashboard")
    assert sideways_overflow(page) == 0
    page.click("text=Last 7 days")
    expect(page.locator(".dashboard-range")).to_contain_text("to")
    page.close()
