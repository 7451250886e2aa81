"""Connecting Google Calendar in a real browser: admin login, the demo business's page, the
fake Google's consent redirect, the calendar picker, "Connected as ...", then Disconnect.

A real Daphne serves the app (its own SQLite file, migrated and seeded) with the fake Google's
settings in its environment; the fake runs in this process on another loopback port. The
browser is the system's headless Chromium (never a downloaded one), driven by Playwright.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from calls.tests.live_server import LiveServer, running_daphne
from calls.tests.test_simulator_browser import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip
from integrations.google_calendar.tests.fake_google import FakeGoogle

pytestmark = pytest.mark.browser

USERNAME, PASSWORD = "frontdesk", "a-long-test-password-1"
TEAM_CALENDAR = "team-rota@group.calendar.google.com"
SCREENSHOT = Path("/tmp/google-calendar-connect.png")

# Run in the server's environment: the schema, the Demo Salon, and a front-desk login that may
# change businesses (not a superuser).
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
def google() -> Iterator[FakeGoogle]:
    with FakeGoogle() as fake:
        fake.add_calendar(TEAM_CALENDAR, "Team rota")
        yield fake


@pytest.fixture
def server(tmp_path: Path, google: FakeGoogle) -> Iterator[LiveServer]:
    _chromium_or_skip()
    env = {**google.env(), "LOG_LEVEL": "WARNING"}
    with running_daphne(tmp_path, prepare=PREPARE, env=env) as live:
        yield live


def connection_in(database: Path) -> tuple:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT c.status, c.account_email, c.busy_calendar_ids, c.write_calendar_id,"
            " c.refresh_token IS NULL, c.access_token IS NULL"
            " FROM google_calendar_googlecalendarconnection c"
            " JOIN bookings_business b ON b.id = c.business_id WHERE b.slug = 'demo'"
        ).fetchone()


def test_staff_connect_and_disconnect_google_calendar_in_the_browser(
    server: LiveServer, google: FakeGoogle
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
            status = page.locator("#google-calendar-status")
            expect(status).to_have_text("Not connected")

            page.click("#google-calendar-connect")
            # The fake's consent redirects straight back; we land on the calendar picker.
            expect(page.locator("#google-calendar-account")).to_have_text("owner@example.com")
            busy = page.locator("#id_busy_calendar_ids")
            expect(busy.get_by_label("owner@example.com (primary)")).to_be_checked()
            expect(busy.get_by_label("Team rota")).not_to_be_checked()
            write = page.locator("#id_write_calendar_id")
            expect(write.get_by_label("owner@example.com (primary)")).to_be_checked()
            busy.get_by_label("Team rota").check()
            page.click("text=Save calendars")

            expect(status).to_have_text("Connected as owner@example.com")
            expect(page.locator(".messagelist")).to_contain_text("Connected as owner@example.com")
            page.locator("#google-calendar").screenshot(path=str(SCREENSHOT))
            assert connection_in(server.database) == (
                "connected",
                "owner@example.com",
                f'["primary", "{TEAM_CALENDAR}"]',
                "primary",
                0,
                0,
            )

            page.click("#google-calendar-disconnect")
            page.click("text=Yes, disconnect")
            expect(status).to_have_text("Not connected")
            expect(page.locator("#google-calendar-connect")).to_be_visible()
        finally:
            browser.close()

    assert google.token_grants == ["authorization_code"]
    assert len(google.revoked_tokens) == 1
    state, email, _busy, _write, no_refresh, no_access = connection_in(server.database)
    assert (state, email, no_refresh, no_access) == ("disconnected", "owner@example.com", 1, 1)
