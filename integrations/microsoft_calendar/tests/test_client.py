"""The Graph client against the fake Microsoft: busy times from calendarView's documented
shapes (paged, the calendar staff picked, cancelled/free events skipped), tokens refreshed
through msal and saved encrypted (Microsoft rotates refresh tokens), a 401 gets one fresh
token, 5xx is retried within the budget and 429 hands back Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.calendar_base import errors
from integrations.calendar_base.errors import CalendarError
from integrations.microsoft_calendar.client import GraphClient
from integrations.microsoft_calendar.models import OutlookCalendarConnection
from integrations.microsoft_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db

SCHEDULE = "/v1.0/me/calendarView"


def at(day: int, hour: int) -> datetime:
    return datetime(2031, 3, 3, tzinfo=UTC) + timedelta(days=day, hours=hour)


def test_busy_items_come_back_as_utc_intervals(connection, fake_microsoft):
    fake_microsoft.add_event(at(0, 14), at(0, 15))
    fake_microsoft.add_event(at(0, 15), at(0, 16), show_as="tentative")  # joins the first
    fake_microsoft.add_event(at(0, 17), at(0, 18), show_as="free")

    answer = GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    assert answer.busy == [(at(0, 14), at(0, 16))]
    assert answer.unknown == {}


def test_every_page_of_a_long_range_is_read(connection, fake_microsoft, monkeypatch):
    from integrations.microsoft_calendar import client

    monkeypatch.setattr(client, "CALENDAR_VIEW_PAGE", 2)
    for day in range(5):
        fake_microsoft.add_event(at(day * 14, 9), at(day * 14, 10))

    answer = GraphClient(connection).get_schedule(at(0, 0), at(70, 0))

    assert answer.busy == [(at(day * 14, 9), at(day * 14, 10)) for day in range(5)]
    assert fake_microsoft.count("GET", SCHEDULE) == 3  # 2 + 2 + 1, through @odata.nextLink


def test_cancelled_and_working_elsewhere_events_are_not_busy(connection, fake_microsoft):
    cancelled = fake_microsoft.add_event(at(0, 9), at(0, 10))
    fake_microsoft._events[cancelled].resource["isCancelled"] = True
    fake_microsoft.add_event(at(0, 11), at(0, 12), show_as="workingElsewhere")
    fake_microsoft.add_event(at(0, 13), at(0, 14), show_as="oof")

    answer = GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    assert answer.busy == [(at(0, 13), at(0, 14))]


def test_busy_times_come_from_the_calendar_staff_picked(connection, fake_microsoft):
    """A personal (Outlook.com) account works too: calendarView, not getSchedule, which
    Microsoft does not support for personal accounts."""
    picked = fake_microsoft.add_calendar("Salon")
    fake_microsoft.add_event(at(0, 9), at(0, 10))  # the default calendar: not ours to read
    fake_microsoft.add_event(at(0, 14), at(0, 15), calendar_id=picked)
    OutlookCalendarConnection.objects.filter(pk=connection.pk).update(write_calendar_id=picked)
    connection.refresh_from_db()

    answer = GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    assert answer.busy == [(at(0, 14), at(0, 15))]
    assert fake_microsoft.count("GET", "/v1.0/me/calendars/") == 1


def test_an_expired_token_is_refreshed_once_and_the_rotated_tokens_saved(business, fake_microsoft):
    connection = connect_business(business, fake_microsoft, expires_in=-10)
    old_refresh = connection.refresh_token

    GraphClient(connection).get_schedule(at(0, 0), at(1, 0))
    GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    connection.refresh_from_db()
    assert fake_microsoft.token_grants == ["refresh_token"]
    assert connection.refresh_token != old_refresh  # Microsoft's rotated refresh token
    assert connection.access_token_expires_at > datetime.now(UTC) + timedelta(minutes=50)


def test_a_401_gets_one_fresh_token(connection, fake_microsoft):
    fake_microsoft.expire_access_tokens()  # Graph refuses the token our row still trusts

    GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    assert fake_microsoft.token_grants == ["refresh_token"]
    assert fake_microsoft.count("GET", SCHEDULE) == 2


def test_server_errors_are_retried_within_the_budget(connection, fake_microsoft):
    fake_microsoft.fail(SCHEDULE, 503, times=2)

    GraphClient(connection, num_retries=2).get_schedule(at(0, 0), at(1, 0))

    assert fake_microsoft.count("GET", SCHEDULE) == 3


def test_throttling_hands_back_retry_after(connection, fake_microsoft):
    fake_microsoft.fail(SCHEDULE, 429, retry_after=90, times=10)

    with pytest.raises(CalendarError) as raised:
        GraphClient(connection, num_retries=3).get_schedule(at(0, 0), at(1, 0))

    assert raised.value.kind == errors.RATE_LIMITED and raised.value.retry_after == 90
    assert fake_microsoft.count("GET", SCHEDULE) == 1  # 90 s is not waited for inline


def test_a_short_retry_after_is_waited_out_unless_inline_wait_is_zero(connection, fake_microsoft):
    fake_microsoft.fail(SCHEDULE, 429, retry_after=1, times=1)
    GraphClient(connection, num_retries=1).get_schedule(at(0, 0), at(1, 0))
    assert fake_microsoft.count("GET", SCHEDULE) == 2  # waited 1 s, then answered

    fake_microsoft.fail(SCHEDULE, 429, retry_after=1, times=1)
    with pytest.raises(CalendarError) as raised:
        GraphClient(connection, num_retries=1, inline_wait=0).get_schedule(at(0, 0), at(1, 0))
    assert raised.value.kind == errors.RATE_LIMITED
    assert fake_microsoft.count("GET", SCHEDULE) == 3


def test_a_wrong_client_secret_is_named_and_not_the_owners_fault(
    connection, fake_microsoft, settings
):
    from integrations.microsoft_calendar import identity

    settings.MICROSOFT_OAUTH_CLIENT_SECRET = "an-expired-secret"
    identity.forget_apps()
    fake_microsoft.expire_access_tokens()

    with pytest.raises(CalendarError) as raised:
        GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    assert raised.value.permanent and "MICROSOFT_OAUTH_CLIENT_SECRET" in str(raised.value)
    connection.refresh_from_db()
    assert connection.status == OutlookCalendarConnection.Status.CONNECTED
