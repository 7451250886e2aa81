"""Connecting and disconnecting a business's Outlook calendar from admin, against the fake
Microsoft: the real msal auth code flow (state, PKCE, nonce), the fake's sign-in redirect
followed by hand as the browser would."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests
from django.db import connection as db
from django.urls import reverse

from bookings.tests.factories import BusinessFactory
from integrations.calendar_base import signins
from integrations.google_calendar.tests.connect_steps import (
    business_page,
    local_path,
    logged_in,
    query_of,
    staff_member,
    with_query,
)
from integrations.microsoft_calendar.models import OutlookCalendarConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return staff_member()


@pytest.fixture
def client(staff):
    return logged_in(staff)


def start_connect(client, business) -> str:
    response = client.get(reverse("microsoft_calendar:connect", args=[business.pk]))
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def sign_in(url: str, microsoft) -> str:
    """Microsoft's sign-in and consent screens: the fake redirects straight back."""
    answer = requests.get(url, allow_redirects=False, timeout=5, verify=microsoft.ca_path)
    assert answer.status_code == 302, answer.text[:500]
    return local_path(answer.headers["Location"])


def stored() -> list[OutlookCalendarConnection]:
    return list(OutlookCalendarConnection.objects.all())


def messages_on(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_staff_connect_outlook_and_pick_the_calendar(client, business, fake_microsoft, settings):
    rota = fake_microsoft.add_calendar("Salon bookings")
    fake_microsoft.add_calendar("Holidays (shared)", can_edit=False)

    url = start_connect(client, business)
    asked = query_of(url)
    assert url.startswith(fake_microsoft.authority + "/oauth2/v2.0/authorize")
    assert set(asked["scope"].split()) >= {"offline_access", "Calendars.ReadWrite", "User.Read"}
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["redirect_uri"] == settings.PUBLIC_BASE_URL + "/admin/outlook-calendar/callback/"
    assert asked["state"].startswith(f"{business.pk}.")

    answer = client.get(sign_in(url, fake_microsoft), follow=True)

    assert "Connected as owner@example.com" in " ".join(messages_on(answer))
    picker = answer.content.decode()
    assert "Salon bookings" in picker and "Calendar (default)" in picker
    assert "Holidays (shared)" not in picker  # read-only: never offered for writing
    (connection,) = stored()
    assert connection.status == "connected" and connection.account_email == "owner@example.com"
    assert {"Calendars.ReadWrite", "User.Read"} <= set(connection.granted_scopes)

    chosen = client.post(
        reverse("microsoft_calendar:calendars", args=[business.pk]),
        {"write_calendar_id": rota},
        follow=True,
    )
    connection.refresh_from_db()
    assert connection.write_calendar_id == rota
    assert connection.write_calendar_name == "Salon bookings"
    page = client.get(business_page(business)).content.decode()
    assert "Connected as owner@example.com" in page
    assert "events written to Salon bookings" in page
    assert chosen.status_code == 200


def test_tokens_are_encrypted_at_rest_and_never_shown(client, business, fake_microsoft, caplog):
    caplog.set_level(logging.DEBUG)
    client.get(sign_in(start_connect(client, business), fake_microsoft), follow=True)
    (connection,) = stored()
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, access_token FROM microsoft_calendar_outlookcalendarconnection"
        )
        refresh, access = (bytes(v) for v in cursor.fetchone())
    assert connection.refresh_token.encode() not in refresh
    assert connection.access_token.encode() not in access
    pages = (
        client.get(business_page(business)).content.decode()
        + client.get(
            reverse(
                "admin:microsoft_calendar_outlookcalendarconnection_change", args=[connection.pk]
            )
        ).content.decode()
    )
    for token in (connection.refresh_token, connection.access_token):
        assert token not in pages
        assert token not in caplog.text


def test_a_replayed_or_forged_state_connects_nothing(client, business, fake_microsoft):
    callback = sign_in(start_connect(client, business), fake_microsoft)

    forged = client.get(with_query(callback, state=f"{business.pk}.forged"))
    assert forged.status_code == 403 and stored() == []

    client.get(callback)  # the real one, once
    replayed = client.get(callback)
    assert replayed.status_code == 403


def test_an_expired_sign_in_is_refused(client, business, fake_microsoft, monkeypatch):
    callback = sign_in(start_connect(client, business), fake_microsoft)
    monkeypatch.setattr(signins, "PENDING_TTL", timedelta(seconds=-1))
    assert client.get(callback).status_code == 403
    assert stored() == []


def test_the_default_calendar_can_be_chosen_back(client, business, fake_microsoft):
    salon = fake_microsoft.add_calendar("Salon bookings")
    client.get(sign_in(start_connect(client, business), fake_microsoft), follow=True)
    url = reverse("microsoft_calendar:calendars", args=[business.pk])
    client.post(url, {"write_calendar_id": salon})
    client.post(url, {"write_calendar_id": "default"})
    (connection,) = stored()
    assert (connection.write_calendar_id, connection.write_calendar_name) == ("", "Calendar")
    assert (
        'value="default" required id="id_write_calendar_id_0" checked'
        in client.get(url).content.decode()
    )


def test_a_state_started_for_one_business_cannot_connect_another(client, business, fake_microsoft):
    other = BusinessFactory()
    callback = sign_in(start_connect(client, business), fake_microsoft)
    client.get(callback)
    assert [c.business_id for c in stored()] == [business.pk]
    assert not OutlookCalendarConnection.objects.filter(business=other).exists()


def test_declined_consent_says_so_and_stores_nothing(client, business, fake_microsoft):
    fake_microsoft.deny_consent = True
    answer = client.get(sign_in(start_connect(client, business), fake_microsoft), follow=True)
    assert stored() == []
    assert any("access was not allowed" in m for m in messages_on(answer))


def test_a_missing_permission_is_named_and_nothing_is_kept(client, business, fake_microsoft):
    fake_microsoft.granted_scopes = ["User.Read", "openid", "profile"]
    answer = client.get(sign_in(start_connect(client, business), fake_microsoft), follow=True)
    assert stored() == []
    assert any("Have full access to your calendars" in m for m in messages_on(answer))


def test_a_used_code_is_refused_by_microsoft(client, business, fake_microsoft, staff):
    """The verifier travels with msal's flow; redeeming the same code twice is invalid_grant."""
    url = start_connect(client, business)
    callback = sign_in(url, fake_microsoft)
    code = query_of(callback)["code"]
    client.get(callback)
    # A second sign-in started, answered with the first (used) code.
    second = sign_in(start_connect(client, business), fake_microsoft)
    answer = client.get(with_query(second, code=code), follow=True)
    assert any("did not accept the sign-in (invalid_grant" in m for m in messages_on(answer))


def test_sign_in_service_down_is_try_again(client, business, fake_microsoft):
    callback = sign_in(start_connect(client, business), fake_microsoft)
    fake_microsoft.fail(fake_microsoft.token_path, 503)
    answer = client.get(callback, follow=True)
    assert stored() == []
    assert any("did not answer the sign-in" in m for m in messages_on(answer))


def test_not_configured_explains_the_app_registration(client, business, settings):
    settings.MICROSOFT_OAUTH_CLIENT_ID = ""
    page = client.get(reverse("microsoft_calendar:connect", args=[business.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "MICROSOFT_OAUTH_CLIENT_ID" in text and "/admin/outlook-calendar/callback/" in text


def test_staff_who_may_not_change_businesses_get_403(business, fake_microsoft):
    viewer = logged_in(staff_member("viewer", may_change=False))
    assert viewer.get(reverse("microsoft_calendar:connect", args=[business.pk])).status_code == 403


def test_disconnect_deletes_the_tokens(client, business, fake_microsoft):
    client.get(sign_in(start_connect(client, business), fake_microsoft), follow=True)
    url = reverse("microsoft_calendar:disconnect", args=[business.pk])
    assert "Yes, disconnect" in client.get(url).content.decode()

    answer = client.post(url, follow=True)

    (connection,) = stored()
    assert connection.status == "disconnected"
    assert connection.refresh_token is None and connection.access_token is None
    assert any("myapps.microsoft.com" in m for m in messages_on(answer))
    assert "Connect Outlook Calendar" in client.get(business_page(business)).content.decode()
