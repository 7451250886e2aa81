"""Tokens the current FERNET_KEYS can't decrypt (a key removed or replaced): every admin page
says "Needs reconnect" instead of a 500, disconnect still wipes, and reconnecting works.
Encrypted with one key and read with another, through admin over HTTP and the connect flow
against the fake Google (issue 10, item 3)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.google_calendar.models import (
    UNREADABLE_TOKEN,
    UNREADABLE_TOKENS_TEXT,
    GoogleCalendarConnection,
)
from integrations.google_calendar.tests.connect_steps import (
    business_page,
    connect,
    logged_in,
    staff_member,
)

pytestmark = pytest.mark.django_db

OLD_KEY = "the-key-the-tokens-were-stored-under"
NEW_KEY = "the-key-after-someone-replaced-it"


@pytest.fixture
def client(db):
    return logged_in(staff_member())


@pytest.fixture
def unreadable(client, business, fake_google, use_keys):
    """`business` connected through the connect flow under OLD_KEY, then FERNET_KEYS
    replaced by NEW_KEY alone."""
    use_keys(OLD_KEY)
    assert connect(client, business).status_code == 302
    use_keys(NEW_KEY)
    return business


def admin_pages(business) -> dict[str, str]:
    connection_id = GoogleCalendarConnection.objects.values_list("pk", flat=True).get(
        business=business
    )
    return {
        "business page": business_page(business),
        "connection list": reverse("admin:google_calendar_googlecalendarconnection_changelist"),
        "connection page": reverse(
            "admin:google_calendar_googlecalendarconnection_change", args=[connection_id]
        ),
        "disconnect page": reverse("google_calendar:disconnect", args=[business.pk]),
    }


def test_every_admin_page_says_needs_reconnect_instead_of_failing(client, unreadable):
    for name, url in admin_pages(unreadable).items():
        response = client.get(url)

        assert response.status_code == 200, f"{name}: {response.status_code}"
        page = response.content.decode()
        if name == "disconnect page":
            assert 'id="google-calendar-disconnect"' in page, name
        else:
            assert UNREADABLE_TOKENS_TEXT.replace("'", "&#x27;") in page, name

    business = client.get(business_page(unreadable)).content.decode()
    assert "Reconnect Google Calendar" in business
    assert "Choose calendars" not in business


def test_choosing_calendars_sends_staff_back_to_reconnect(client, unreadable):
    response = client.get(reverse("google_calendar:calendars", args=[unreadable.pk]), follow=True)

    assert response.redirect_chain[-1][0] == business_page(unreadable)
    assert f"{UNREADABLE_TOKENS_TEXT}: reconnect Google Calendar." in [
        str(m) for m in response.context["messages"]
    ]


def test_reconnecting_overwrites_the_unreadable_tokens(client, unreadable, fake_google):
    callback = connect(client, unreadable)

    assert callback.status_code == 302
    assert callback["Location"] == reverse("google_calendar:calendars", args=[unreadable.pk])
    connection = GoogleCalendarConnection.objects.get(business=unreadable)
    assert not connection.tokens_unreadable and connection.is_usable
    page = client.get(business_page(unreadable)).content.decode()
    assert 'id="google-calendar-status">Connected as owner@example.com</div>' in page


def test_disconnecting_wipes_the_unreadable_tokens(client, unreadable, fake_google):
    response = client.post(reverse("google_calendar:disconnect", args=[unreadable.pk]), follow=True)

    assert response.status_code == 200
    message = [str(m) for m in response.context["messages"]][-1]
    assert "Google did not confirm revoking our access" in message
    assert "can't be read with the current keys" in message
    connection = GoogleCalendarConnection.objects.get(business=unreadable)
    assert connection.refresh_token is None and connection.access_token is None
    assert connection.status == GoogleCalendarConnection.Status.DISCONNECTED
    assert fake_google.revoked_tokens == []  # it had nothing readable to send Google


def test_an_unreadable_token_is_never_written_back(unreadable):
    connection = GoogleCalendarConnection.objects.get(business=unreadable)
    assert connection.refresh_token is UNREADABLE_TOKEN

    with pytest.raises(ValueError, match="never written back"):
        connection.save()
