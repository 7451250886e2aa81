"""Connecting Outlook in a real browser: admin login, the demo business's page with its
"Outlook Calendar (Microsoft 365)" section, the fake Microsoft's sign-in redirect (https with
the fake's own CA, which this test browser is told to accept), the calendar picker,
"Connected as ...", then Disconnect.

A real Daphne serves the app with the fake's settings in its environment (the CA through
MICROSOFT_CA_BUNDLE); the browser is the system's headless Chromium driven by Playwright.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from calls.tests.live_server import LiveServer, running_daphne
from calls.tests.test_simulator_browser import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip
from integrations.google_calendar.tests.test_connect_browser import PASSWORD, PREPARE, USERNAME
from integrations.microsoft_calendar.tests.fake_microsoft import FakeMicrosoft

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/outlook-calendar-connect.png")


@pytest.fixture
def microsoft() -> Iterator[FakeMicrosoft]:
    with FakeMicrosoft() as fake:
        fake.add_calendar("Salon bookings")
        fake.add_calendar("Holidays (shared)", can_edit=False)
        yield fake


@pytest.fixture
def server(tmp_path: Path, microsoft: FakeMicrosoft) -> Iterator[LiveServer]:
    _chromium_or_skip()
    env = {**microsoft.env(), "LOG_LEVEL": "WARNING"}
    with running_daphne(tmp_path, prepare=PREPARE, env=env) as live:
        yield live


def connection_in(database: Path) -> tuple:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT c.status, c.account_email, c.write_calendar_name,"
            " c.refresh_token IS NULL, c.access_token IS NULL"
            " FROM microsoft_calendar_outlookcalendarconnection c"
            " JOIN bookings_business b ON b.id = c.business_id WHERE b.slug = 'demo'"
        ).fetchone()


def test_staff_connect_and_disconnect_outlook_in_the_browser(
    server: LiveServer, microsoft: FakeMicrosoft
):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # The fake's certificate is from its own test CA: a real browser would ask once.
            context = browser.new_context(
                viewport={"width": 1100, "height": 900}, ignore_https_errors=True
            )
            page = context.new_page()
            page.set_default_timeout(10_000)

            page.goto(server.url + "/admin/login/?next=/admin/bookings/business/")
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.click("text=Demo Salon")
            status = page.locator("#outlook-calendar-status")
            expect(status).to_have_text("Not connected")
            expect(page.locator("#google-calendar-status")).to_have_text("Not connected")

            page.click("#outlook-calendar-connect")
            expect(page.locator("#outlook-calendar-account")).to_have_text("owner@example.com")
            write = page.locator("#id_write_calendar_id")
            expect(write.get_by_label("Calendar (default)")).to_be_checked()
            expect(write.get_by_label("Holidays (shared)")).to_have_count(0)
            write.get_by_label("Salon bookings").check()
            page.click("text=Save calendar")

            expect(status).to_have_text("Connected as owner@example.com")
            expect(page.locator("#outlook-calendar")).to_contain_text(
                "events written to Salon bookings"
            )
            page.locator("#outlook-calendar").screenshot(path=str(SCREENSHOT))
            assert connection_in(server.database) == (
                "connected",
                "owner@example.com",
                "Salon bookings",
                0,
                0,
            )

            page.click("#outlook-calendar-disconnect")
            page.click("text=Yes, disconnect")
            expect(status).to_have_text("Not connected")
            expect(page.locator(".messagelist")).to_contain_text("myapps.microsoft.com")
            expect(page.locator("#outlook-calendar-connect")).to_be_visible()
        finally:
            browser.close()

    assert microsoft.token_grants == ["authorization_code"]
    state, email, _name, no_refresh, no_access = connection_in(server.database)
    assert (state, email, no_refresh, no_access) == ("disconnected", "owner@example.com", 1, 1)
