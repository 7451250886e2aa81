"""Two processes that find the same connection's access token expired refresh it once: the
connection's row lock (calendar_base.token_refresh) makes the second wait and use the first
one's token, for every integration. Runs on SQLite and on Postgres."""

from __future__ import annotations

import multiprocessing

import pytest
from django.db import connection as db_connection

from bookings.tests.factories import BusinessFactory
from integrations.calendar_base.tests.refresh_elsewhere import call_with_expired_token
from integrations.calendly.tests.connected import connect_business as connect_calendly
from integrations.google_calendar.tests.connected import connect_business as connect_google
from integrations.microsoft_calendar.tests.connected import connect_business as connect_outlook

INTEGRATIONS = {
    # name: (fake fixture, connect, the fake's token path)
    "google": ("fake_google", connect_google, "/token"),
    "microsoft": ("fake_microsoft", connect_outlook, "/common/oauth2/v2.0/token"),
    "calendly": ("fake_calendly", connect_calendly, "/oauth/token"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("integration", list(INTEGRATIONS))
def test_two_processes_with_an_expired_token_refresh_it_once(request, integration):
    fake_fixture, connect, token_path = INTEGRATIONS[integration]
    fake = request.getfixturevalue(fake_fixture)
    connection = connect(BusinessFactory(), fake, expires_in=-60)
    fake.token_latency = 1.0  # the first refresh is still in flight when the second wants one
    spawn = multiprocessing.get_context("spawn")
    start_together, results = spawn.Barrier(2), spawn.Queue()
    database = db_connection.settings_dict["NAME"]
    processes = [
        spawn.Process(
            target=call_with_expired_token,
            args=(integration, connection.pk, database, fake.settings(), start_together, results),
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(90)

    assert sorted(results.get(timeout=5) for _ in processes) == ["ok", "ok"]
    assert fake.count("POST", token_path) == 1
    connection.refresh_from_db()
    assert connection.access_token and connection.status == "connected"
