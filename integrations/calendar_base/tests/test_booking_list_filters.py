"""The bookings list's filters say what each filters: the booking's own status, and each
calendar's sync (not a second and third "By status")."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_each_filter_has_its_own_title(admin_client):
    html = admin_client.get("/admin/bookings/booking/").content.decode()
    filters = html[html.index('id="changelist-filter"') :]
    titles = [title.strip() for title in re.findall(r"By ([A-Za-z ]+)", filters)]
    assert titles == ["status", "start", "calendar sync", "Outlook sync"]
    assert (
        admin_client.get(
            "/admin/bookings/booking/", {"calendar_event_sync__status__exact": "failed"}
        ).status_code
        == 200
    )
