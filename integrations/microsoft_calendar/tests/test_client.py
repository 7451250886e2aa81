"""The Graph client against the fake Microsoft: getSchedule's documented shapes, long ranges
asked a month at a time, a schedule Graph can't read is unknown (never free), tokens refreshed
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

SCHEDULE = "/v1.0/me/calendar/getSchedule"


def at(day: int, hour: int) -> datetime:
    return datetime(2031, 3, 3, tzinfo=UTC) + timedelta(days=day, hours=hour)


def test_busy_items_come_back_as_utc_intervals(connection, fake_microsoft):
    fake_microsoft.add_event(at(0, 14), at(0, 15))
    fake_microsoft.add_event(at(0, 15), at(0, 16), show_as="tentative")  # joins the first
    fake_microsoft.add_event(at(0, 17), at(0, 18), show_as="free")

    answer = GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    assert answer.busy == [(at(0, 14), at(0, 16))]
    assert answer.unknown == {}


def test_a_long_range_is_asked_a_month_at_a_time(connection, fake_microsoft):
    fake_microsoft.add_event(at(50, 9), at(50, 10))

    answer = GraphClient(connection).get_schedule(at(0, 0), at(70, 0))

    assert answer.busy == [(at(50, 9), at(50, 10))]
    assert fake_microsoft.count("POST", SCHEDULE) == 3  # 31 + 31 + 8 days; Graph caps at 42


def test_a_schedule_graph_cannot_read_is_unknown_not_free(connection, fake_microsoft):
    OutlookCalendarConnection.objects.filter(pk=connection.pk).update(
        account_email="someone-else@example.com"
    )
    connection.refresh_from_db()

    answer = GraphClient(connection).get_schedule(at(0, 0), at(1, 0))

    assert answer.busy == []
    assert answer.unknown == {"someone-else@example.com": "The recipient could not be found."}


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
    assert fake_microsoft.count("POST", SCHEDULE) == 2


def test_server_errors_are_retried_within_the_budget(connection, fake_microsoft):
    fake_microsoft.fail(SCHEDULE, 503, times=2)

    GraphClient(connection, num_retries=2).get_schedule(at(0, 0), at(1, 0))

    assert fake_microsoft.count("POST", SCHEDULE) == 3


def test_throttling_hands_back_retry_after(connection, fake_microsoft):
    fake_microsoft.fail(SCHEDULE, 429, retry_after=90, times=10)

    with pytest.raises(CalendarError) as raised:
        GraphClient(connection, num_retries=3).get_schedule(at(0, 0), at(1, 0))

    assert raised.value.kind == errors.RATE_LIMITED and raised.value.retry_after == 90
    assert fake_microsoft.count("POST", SCHEDULE) == 1  # 90 s is not waited for inline


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
