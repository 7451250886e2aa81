"""Staff set a service's own rules and the staff notification recipients in admin, in a
real browser (Debian's headless Chromium through Playwright) against a real Daphne: the
buffer and notice in the service's row on the business page, its days and hours on the
service's page ("Change"), the recipients in "Staff notifications"; then "Several calendars"
with its options."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from calls.tests.live_server import LiveServer, running_daphne
from calls.tests.test_simulator_browser import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip

pytestmark = pytest.mark.browser

USERNAME, PASSWORD = "owner", "a-long-test-password-2"
PREPARE = f"""
from django.contrib.auth.models import User
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
User.objects.create_superuser({USERNAME!r}, "owner@example.com", {PASSWORD!r})
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    _chromium_or_skip()
    with running_daphne(tmp_path, prepare=PREPARE, env={"LOG_LEVEL": "WARNING"}) as live:
        yield live


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(sql).fetchall()


def test_staff_set_service_rules_recipients_and_several_calendars(server: LiveServer):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.set_default_timeout(10_000)
            page.goto(server.url + "/admin/login/?next=/admin/bookings/business/")
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.click("text=Demo Salon")

            # The business page: recipients, and the colouring row's buffer and notice.
            page.fill("#id_notification_emails", "owner@demo.example, desk@demo.example")
            page.fill("#id_staff_sms_number", "+15555550177")
            colouring_row = page.locator(
                "tr.form-row", has=page.locator("input[value='Hair colouring']")
            )
            colouring_row.locator("input[name$='-buffer_minutes']").fill("15")
            colouring_row.locator("input[name$='-min_notice_minutes']").fill("1440")
            page.click("input[name=_continue]")
            expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

            # Its own days and hours, on the service's page.
            colouring_row = page.locator(
                "tr.form-row", has=page.locator("input[value='Hair colouring']")
            )
            expect(colouring_row.locator("td.field-offered")).to_have_text("whenever open")
            colouring_row.locator("a.inlinechangelink").click()
            for n, weekday in enumerate(["Tuesday", "Saturday"]):
                page.click("text=Add another Service hours")
                page.select_option(f"#id_hours-{n}-weekday", label=weekday)
                page.fill(f"#id_hours-{n}-opens", "10:00")
                page.fill(f"#id_hours-{n}-closes", "15:00")
            page.click("input[name=_save]")
            expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

            # Several calendars: chosen from the business list's kill switch, then its options.
            page.goto(server.url + "/admin/bookings/business/")
            page.click("text=Demo Salon")
            page.select_option(
                "#id_booking_provider",
                label=("Several calendars (our bookings, opening hours and every chosen calendar)"),
            )
            page.click("input[name=_continue]")
            expect(page.locator("#id_option_sources")).to_contain_text("Google Calendar")
            page.get_by_label("Google Calendar (our bookings").check()
            page.select_option("#id_option_write_events_to", value="google_calendar")
            page.click("input[name=_continue]")
            expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
            colouring_row = page.locator(
                "tr.form-row", has=page.locator("input[value='Hair colouring']")
            )
            expect(colouring_row.locator("td.field-offered")).to_have_text(
                "Tuesday 10:00-15:00, Saturday 10:00-15:00"
            )
        finally:
            browser.close()

    assert rows(
        server.database,
        "SELECT notification_emails, staff_sms_number, booking_provider, provider_options"
        " FROM bookings_business",
    ) == [
        (
            "owner@demo.example, desk@demo.example",
            "+15555550177",
            "chain",
            '{"sources": ["google_calendar"], "write_events_to": "google_calendar"}',
        )
    ]
    assert rows(
        server.database,
        "SELECT s.buffer_minutes, s.min_notice_minutes, h.weekday, h.opens, h.closes"
        " FROM bookings_servicehours h JOIN bookings_service s ON s.id = h.service_id"
        " ORDER BY h.weekday",
    ) == [(15, 1440, 1, "10:00:00", "15:00:00"), (15, 1440, 5, "10:00:00", "15:00:00")]
