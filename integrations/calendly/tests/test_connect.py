"""Connecting Calendly from admin, through the Django test client and the fake Calendly's
consent redirect (a real HTTP request to the fake, as the browser would make): PKCE and the
one-use state, "Connected as ...", mapping services to event types, disconnecting, and no
token in any admin page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.tests.factories import ServiceFactory
from integrations.calendly.models import CalendlyConnection, CalendlyEventType
from integrations.google_calendar.tests.connect_steps import (
    business_page,
    consent,
    logged_in,
    query_of,
    staff_member,
    with_query,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return staff_member()


def start_connect(client, business) -> str:
    response = client.get(reverse("calendly:connect", args=[business.pk]))
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def test_connect_asks_for_pkce_and_lands_on_the_event_types(business, staff, fake_calendly):
    client = logged_in(staff)
    haircut_type = fake_calendly.add_event_type("Haircut", 30)
    haircut = ServiceFactory(business=business, name="Haircut")

    consent_url = start_connect(client, business)
    asked = query_of(consent_url)
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["scope"] == "users:read event_types:read scheduled_events:write"
    callback = client.get(consent(consent_url))

    assert callback.status_code == 302
    assert callback["Location"] == reverse("calendly:event_types", args=[business.pk])
    connection = CalendlyConnection.objects.get(business=business)
    assert connection.status == CalendlyConnection.Status.CONNECTED
    assert connection.user_uri == fake_calendly.user_uri
    assert connection.organization_uri == fake_calendly.organization_uri
    page = client.get(callback["Location"])
    assert "Demo Salon Owner (owner@example.com)" in page.content.decode()
    assert haircut_type in page.content.decode()

    saved = client.post(
        callback["Location"],
        {f"service_{haircut.pk}": haircut_type, "invitee_email": "desk@salon.example.com"},
    )

    assert saved.status_code == 302
    mapping = CalendlyEventType.objects.get(service=haircut)
    assert (mapping.uri, mapping.name, mapping.duration_minutes) == (haircut_type, "Haircut", 30)
    connection.refresh_from_db()
    assert connection.invitee_email == "desk@salon.example.com"
    html = client.get(business_page(business)).content.decode()
    assert "Connected as Demo Salon Owner (owner@example.com)" in html
    assert "Haircut as Haircut" in html
    assert connection.access_token not in html and connection.refresh_token not in html


def test_a_callback_can_be_used_once(business, staff, fake_calendly):
    client = logged_in(staff)
    callback = consent(start_connect(client, business))
    assert client.get(callback).status_code == 302

    replayed = client.get(callback)

    assert replayed.status_code == 403
    assert CalendlyConnection.objects.count() == 1


def test_another_staff_members_callback_is_refused(business, staff, fake_calendly):
    callback = consent(start_connect(logged_in(staff), business))
    other = logged_in(staff_member("other"))

    assert other.get(callback).status_code == 403
    assert not CalendlyConnection.objects.exists()


def test_a_code_without_its_verifier_connects_nothing(business, staff, fake_calendly):
    client = logged_in(staff)
    first = consent(start_connect(client, business))
    second = consent(start_connect(client, business))
    # The second tab's state with the first tab's code: Calendly checks the PKCE verifier.
    forged = with_query(second, code=query_of(first)["code"])

    response = client.get(forged, follow=True)

    assert "Calendly did not accept the sign-in" in response.content.decode()
    assert not CalendlyConnection.objects.exists()


def test_denied_consent_connects_nothing(business, staff, fake_calendly):
    fake_calendly.deny_consent = True
    client = logged_in(staff)

    response = client.get(consent(start_connect(client, business)), follow=True)

    assert "Calendly said access_denied" in response.content.decode()
    assert not CalendlyConnection.objects.exists()


def test_staff_who_may_not_change_businesses_cannot_connect(business, fake_calendly):
    client = logged_in(staff_member("viewer", may_change=False))

    assert client.get(reverse("calendly:connect", args=[business.pk])).status_code == 403


def test_without_an_app_the_button_says_what_to_set(business, staff, settings):
    settings.CALENDLY_OAUTH_CLIENT_ID = ""
    page = logged_in(staff).get(reverse("calendly:connect", args=[business.pk]))

    assert "CALENDLY_OAUTH_CLIENT_ID" in page.content.decode()
    assert "/admin/calendly/callback/" in page.content.decode()


def test_disconnect_revokes_at_calendly_and_wipes_the_tokens(
    business, staff, connection, fake_calendly
):
    client = logged_in(staff)
    refresh = connection.refresh_token

    client.post(reverse("calendly:disconnect", args=[business.pk]))

    connection.refresh_from_db()
    assert fake_calendly.revoked_tokens == [refresh]
    assert (connection.status, connection.refresh_token, connection.access_token) == (
        "disconnected",
        None,
        None,
    )


def test_a_revoked_grant_shows_needs_reconnect(business, staff, connection, haircut_type):
    from integrations.calendly import connections

    connections.record_problem(
        connection=connection, kind=connections.TOKEN_REVOKED, needs_reconnect=True
    )

    html = logged_in(staff).get(business_page(business)).content.decode()

    assert "Needs reconnect" in html
    assert "Reconnect Calendly" in html
