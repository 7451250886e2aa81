"""Connecting Calendly in a real browser: admin login, the demo business's page, the fake
Calendly's consent redirect, the event-type picker and the phone-booking email, "Connected
as ...", then Disconnect.

A real Daphne serves the app (its own SQLite file, migrated and seeded) with the fake
Calendly's settings in its environment; the fake runs in this process on another loopback
port. The browser is the system's headless Chromium, driven by Playwright.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from calls.tests.live_server import LiveServer, running_daphne
from calls.tests.test_simulator_browser import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip
from integrations.calendly.tests.fake_calendly import FakeCalendly

pytestmark = pytest.mark.browser

USERNAME, PASSWORD = "frontdesk", "a-long-test-password-1"
SCREENSHOT = Path("/tmp/calendly-connect.png")

PREPARE = f"""
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r}, is_staff=True)
user.user_permissions.set(
    Permission.objects.filter(codename__in=["view_business", "change_business"])
)
"""


@pytest.fixture
def calendly() -> Iterator[FakeCalendly]:
    with FakeCalendly() as fake:
        fake.add_event_type("Haircut", 30)
        fake.add_event_type("Beard trim", 15)
        yield fake


@pytest.fixture
def server(tmp_path: Path, calendly: FakeCalendly) -> Iterator[LiveServer]:
    _chromium_or_skip()
    env = {**calendly.env(), "LOG_LEVEL": "WARNING"}
    with running_daphne(tmp_path, prepare=PREPARE, env=env) as live:
        yield live


def state_in(database: Path) -> tuple:
    with sqlite3.connect(database) as db:
        connection = db.execute(
            "SELECT c.status, c.account_email, c.invitee_email, c.refresh_token IS NULL"
            " FROM calendly_calendlyconnection c"
            " JOIN bookings_business b ON b.id = c.business_id WHERE b.slug = 'demo'"
        ).fetchone()
        mapped = db.execute(
            "SELECT s.name, e.name FROM calendly_calendlyeventtype e"
            " JOIN bookings_service s ON s.id = e.service_id ORDER BY s.name"
        ).fetchall()
    return connection, mapped


def test_staff_connect_map_and_disconnect_calendly_in_the_browser(
    server: LiveServer, calendly: FakeCalendly
):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(10_000)

            page.goto(server.url + "/admin/login/?next=/admin/bookings/business/")
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.click("text=Demo Salon")
            status = page.locator("#calendly-status")
            expect(status).to_have_text("Not connected")

            page.click("#calendly-connect")
            # The fake's consent redirects straight back; we land on the event-type picker.
            account = "Demo Salon Owner (owner@example.com)"
            expect(page.locator("#calendly-account")).to_have_text(account)
            page.get_by_label("Haircut (30 min)").select_option(label="Haircut (30 min)")
            page.get_by_label("Email given to Calendly for phone bookings").fill(
                "bookings@demo-salon.example.com"
            )
            page.click("text=Save event types")

            expect(status).to_have_text(f"Connected as {account}")
            expect(page.locator("#calendly-mapping")).to_have_text("Haircut as Haircut")
            page.locator("#calendly").screenshot(path=str(SCREENSHOT))
            assert state_in(server.database) == (
                ("connected", "owner@example.com", "bookings@demo-salon.example.com", 0),
                [("Haircut", "Haircut")],
            )

            page.click("#calendly-disconnect")
            page.click("text=Yes, disconnect")
            expect(status).to_have_text("Not connected")
            expect(page.locator("#calendly-connect")).to_be_visible()
        finally:
            browser.close()

    assert len(calendly.revoked_tokens) == 1
    connection, _mapped = state_in(server.database)
    assert connection[0] == "disconnected" and connection[3] == 1
