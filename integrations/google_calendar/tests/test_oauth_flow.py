"""Connecting and disconnecting a business's Google Calendar from admin, against the fake
Google: the real google-auth-oauthlib flow, the fake's consent redirect followed by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from cryptography.fernet import Fernet
from django.db import connection as db
from django.urls import reverse
from fernet_fields.hkdf import derive_fernet_key

from bookings.tests.factories import BusinessFactory
from integrations.calendar_base import signins
from integrations.google_calendar import oauth
from integrations.google_calendar.client import SCOPES, CalendarClient
from integrations.google_calendar.models import GoogleCalendarConnection
from integrations.google_calendar.tests.connect_steps import (
    business_page,
    connect,
    consent,
    logged_in,
    query_of,
    staff_member,
    start_connect,
    with_query,
)

pytestmark = pytest.mark.django_db

FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"


@pytest.fixture
def staff(db):
    return staff_member()


@pytest.fixture
def client(staff):
    return logged_in(staff)


def stored() -> list[GoogleCalendarConnection]:
    return list(GoogleCalendarConnection.objects.all())


def raw_tokens(business) -> tuple[bytes, bytes]:
    """The token columns as the database holds them."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, access_token FROM google_calendar_googlecalendarconnection "
            "WHERE business_id = %s",
            [business.pk],
        )
        refresh, access = cursor.fetchone()
    return bytes(refresh), bytes(access)


def messages_on(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- The happy path ---------------------------------------------------------------------------


def test_staff_connect_a_calendar_and_pick_the_calendars(client, business, fake_google, settings):
    fake_google.add_calendar("team@group.calendar.google.com", "Team rota", access_role="reader")
    fake_google.add_calendar("salon@group.calendar.google.com", "Salon bookings")

    consent_url = start_connect(client, business)
    asked = query_of(consent_url)
    assert consent_url.startswith(fake_google.auth_uri)
    assert asked["access_type"] == "offline" and asked["prompt"] == "consent"
    assert asked["include_granted_scopes"] == "true"
    assert set(asked["scope"].split()) == set(SCOPES)
    assert asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == settings.PUBLIC_BASE_URL + "/admin/google-calendar/callback/"

    back = client.get(consent(consent_url))
    assert back.status_code == 302
    assert back["Location"] == reverse("google_calendar:calendars", args=[business.pk])

    (connection,) = stored()
    assert connection.business == business
    assert connection.status == GoogleCalendarConnection.Status.CONNECTED
    assert connection.account_email == "owner@example.com"
    assert set(connection.granted_scopes) == set(SCOPES)
    assert connection.connected_by.username == "frontdesk"
    assert connection.access_token_expires_at is not None
    assert fake_google.token_grants == ["authorization_code"]
    # Stored encrypted: the column is a Fernet token that opens to the real token.
    raw_refresh, raw_access = raw_tokens(business)
    assert connection.refresh_token.encode() not in raw_refresh
    assert connection.access_token.encode() not in raw_access
    key = Fernet(derive_fernet_key(settings.FERNET_KEYS[0]))
    assert key.decrypt(raw_refresh).decode() == connection.refresh_token
    # ... and it is a token Google honours.
    assert CalendarClient(connection).primary_calendar_id() == "owner@example.com"

    picker = client.get(back["Location"])
    assert picker.status_code == 200
    html = picker.content.decode()
    assert 'Connected as <strong id="google-calendar-account">owner@example.com' in html
    form = picker.context["form"]
    assert form["busy_calendar_ids"].value() == ["owner@example.com"]  # primary preselected
    assert form["write_calendar_id"].value() == "owner@example.com"
    writable = [value for value, _ in form.fields["write_calendar_id"].choices]
    assert "team@group.calendar.google.com" not in writable  # read-only calendars can't be written

    saved = client.post(
        back["Location"],
        {
            "busy_calendar_ids": ["owner@example.com", "team@group.calendar.google.com"],
            "write_calendar_id": "salon@group.calendar.google.com",
        },
        follow=True,
    )
    assert saved.redirect_chain[-1][0] == business_page(business)
    assert "Connected as owner@example.com." in messages_on(saved)
    connection.refresh_from_db()
    assert connection.busy_calendar_ids == ["primary", "team@group.calendar.google.com"]
    assert connection.write_calendar_id == "salon@group.calendar.google.com"
    page = saved.content.decode()
    assert 'id="google-calendar-status">Connected as owner@example.com</div>' in page
    assert "Choose calendars" in page and "Disconnect" in page


def test_the_picker_needs_a_busy_calendar_and_a_writable_one(client, business, fake_google):
    fake_google.add_calendar("team@group.calendar.google.com", "Team rota", access_role="reader")
    connect(client, business)
    url = reverse("google_calendar:calendars", args=[business.pk])

    refused = client.post(url, {"write_calendar_id": "team@group.calendar.google.com"})

    assert refused.status_code == 200
    errors = refused.context["form"].errors
    assert "Pick at least one calendar" in str(errors["busy_calendar_ids"])
    assert "write_calendar_id" in errors
    (connection,) = stored()
    assert (connection.busy_calendar_ids, connection.write_calendar_id) == (["primary"], "primary")


# -- The state: one use, this session, this staff member, this business ------------------------


def test_a_callback_with_another_state_is_refused_and_stores_nothing(client, business, fake_google):
    callback = consent(start_connect(client, business))

    refused = client.get(with_query(callback, state="not-the-state-we-sent"))

    assert refused.status_code == 403
    assert "does not match one you started" in refused.content.decode()
    assert stored() == []
    assert fake_google.token_grants == []  # the code was never even exchanged


def test_a_callback_without_state_is_refused(client, business, fake_google):
    callback = consent(start_connect(client, business))
    code = query_of(callback)["code"]

    refused = client.get(reverse("google_calendar:callback"), {"code": code})

    assert refused.status_code == 403
    assert stored() == []


def test_a_used_callback_cannot_be_replayed(client, business, fake_google):
    callback = consent(start_connect(client, business))
    assert client.get(callback).status_code == 302
    (first,) = stored()

    replayed = client.get(callback)

    assert replayed.status_code == 403
    (connection,) = stored()
    assert connection.connected_at == first.connected_at
    assert fake_google.token_grants == ["authorization_code"]


def test_a_refused_callback_uses_up_its_state(client, business, fake_google):
    """A state is one use even when the callback fails: Google's error used it."""
    fake_google.deny_consent = True
    callback = consent(start_connect(client, business))
    client.get(callback)
    fake_google.deny_consent = False

    assert client.get(callback).status_code == 403


def test_another_staff_members_session_cannot_use_the_state(client, business, fake_google):
    callback = consent(start_connect(client, business))
    colleague = logged_in(staff_member("colleague"))

    refused = colleague.get(callback)

    assert refused.status_code == 403
    assert stored() == []
    # The one who started it still can.
    assert client.get(callback).status_code == 302
    assert stored()[0].connected_by.username == "frontdesk"


def test_a_state_is_bound_to_the_staff_member_who_started_it(staff, business, fake_google):
    """Even inside one session (e.g. a login change that kept the session data)."""
    session = logged_in(staff).session
    oauth.start_authorization(session=session, business=business, user=staff)
    (state,) = session[oauth.PENDING_SESSION_KEY]
    colleague = staff_member("colleague")

    with pytest.raises(oauth.StateRejected, match="another staff member"):
        oauth.take_pending(session=session, state=state, user=colleague)
    with pytest.raises(oauth.StateRejected):  # and it is gone now
        oauth.take_pending(session=session, state=state, user=staff)


def test_a_state_for_one_business_cannot_connect_another(client, business, fake_google):
    other = BusinessFactory()
    callback = consent(start_connect(client, business))
    state = query_of(callback)["state"]
    pk, nonce = state.split(".", 1)
    assert pk == str(business.pk)

    refused = client.get(with_query(callback, state=f"{other.pk}.{nonce}"))

    assert refused.status_code == 403
    assert stored() == []


def test_a_code_from_another_businesss_consent_is_refused(client, business, fake_google):
    """Two connects pending in one session: business B's code arriving with business A's
    state fails at Google (the code is bound to B's PKCE challenge), so nothing is stored."""
    other = BusinessFactory()
    for_a = consent(start_connect(client, business))
    for_b = consent(start_connect(client, other))

    mixed = client.get(with_query(for_a, code=query_of(for_b)["code"]), follow=True)

    assert stored() == []
    assert any("did not accept the sign-in (invalid_grant)" in m for m in messages_on(mixed))


def test_an_expired_state_is_refused(client, business, fake_google, monkeypatch):
    callback = consent(start_connect(client, business))
    monkeypatch.setattr(signins, "PENDING_TTL", timedelta(seconds=-1))

    assert client.get(callback).status_code == 403
    assert stored() == []


# -- What Google answers --------------------------------------------------------------------


def test_access_denied_on_the_consent_screen_is_explained(client, business, fake_google):
    fake_google.deny_consent = True

    answer = client.get(consent(start_connect(client, business)), follow=True)

    assert answer.redirect_chain[-1][0] == business_page(business)
    assert any("access was not allowed on Google" in m for m in messages_on(answer))
    assert stored() == []
    assert 'id="google-calendar-status">Not connected</div>' in answer.content.decode()


def test_a_permission_left_unticked_is_named_and_nothing_is_connected(
    client, business, fake_google
):
    fake_google.granted_scopes = [s for s in SCOPES if s != FREEBUSY]

    answer = client.get(consent(start_connect(client, business)), follow=True)

    (message,) = messages_on(answer)
    assert "was not connected" in message
    assert '"View your availability in your calendars"' in message
    assert stored() == []
    # The partial grant is not left alive at Google either.
    assert len(fake_google.revoked_tokens) == 1


def test_more_scopes_than_asked_still_connect(client, business, fake_google):
    """include_granted_scopes adds earlier grants: oauthlib calls that a scope change too."""
    extra = "https://www.googleapis.com/auth/userinfo.email"
    fake_google.granted_scopes = [*SCOPES, extra]

    client.get(consent(start_connect(client, business)))

    (connection,) = stored()
    assert connection.status == GoogleCalendarConnection.Status.CONNECTED
    assert extra in connection.granted_scopes


def test_the_exchange_needs_the_pkce_verifier_kept_from_the_start(client, business, fake_google):
    """A Flow rebuilt in the callback without the stored verifier sends none: Google refuses."""
    callback = consent(start_connect(client, business))
    session = client.session
    entries = session[oauth.PENDING_SESSION_KEY]
    (state,) = entries
    entries[state]["code_verifier"] = None
    session[oauth.PENDING_SESSION_KEY] = entries
    session.save()

    answer = client.get(callback, follow=True)

    assert stored() == []
    assert any("did not accept the sign-in (invalid_grant)" in m for m in messages_on(answer))
    assert fake_google.token_grants == ["authorization_code"]  # tried, and refused


def test_google_down_during_the_exchange_is_explained(client, business, fake_google):
    callback = consent(start_connect(client, business))
    fake_google.fail("/token", 503)

    answer = client.get(callback, follow=True)

    assert stored() == []
    assert "Google did not answer the sign-in (HTTP 503). Please try again." in messages_on(answer)


def test_a_reconnect_keeps_the_chosen_calendars(client, business, fake_google):
    fake_google.add_calendar("salon@group.calendar.google.com", "Salon bookings")
    connect(client, business)
    client.post(
        reverse("google_calendar:calendars", args=[business.pk]),
        {
            "busy_calendar_ids": ["owner@example.com"],
            "write_calendar_id": "salon@group.calendar.google.com",
        },
    )

    connect(client, business)

    (connection,) = stored()
    assert connection.write_calendar_id == "salon@group.calendar.google.com"
    assert fake_google.token_grants == ["authorization_code", "authorization_code"]


# -- Disconnect ----------------------------------------------------------------------------


def test_disconnect_asks_first_then_revokes_at_google_and_wipes_the_tokens(
    client, business, fake_google
):
    connect(client, business)
    (connection,) = stored()
    refresh_token = connection.refresh_token
    url = reverse("google_calendar:disconnect", args=[business.pk])

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Yes, disconnect" in confirm.content.decode()
    assert stored()[0].status == GoogleCalendarConnection.Status.CONNECTED  # a GET changes nothing

    done = client.post(url, follow=True)

    assert done.redirect_chain[-1][0] == business_page(business)
    assert any("Google revoked our access" in m for m in messages_on(done))
    assert fake_google.revoked_tokens == [refresh_token]
    connection.refresh_from_db()
    assert connection.status == GoogleCalendarConnection.Status.DISCONNECTED
    assert (connection.refresh_token, connection.access_token) == (None, None)
    assert raw_tokens_are_null(business)
    assert 'id="google-calendar-status">Not connected</div>' in done.content.decode()
    # The grant is dead at Google too.
    dead = requests.post(
        fake_google.token_uri,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": fake_google.client_id,
            "client_secret": fake_google.client_secret,
        },
        timeout=5,
    )
    assert dead.json()["error"] == "invalid_grant"


def raw_tokens_are_null(business) -> bool:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, access_token FROM google_calendar_googlecalendarconnection "
            "WHERE business_id = %s",
            [business.pk],
        )
        return cursor.fetchone() == (None, None)


def test_a_failed_revoke_is_shown_and_the_tokens_are_wiped_anyway(client, business, fake_google):
    connect(client, business)
    fake_google.fail("/revoke", 503)

    done = client.post(reverse("google_calendar:disconnect", args=[business.pk]), follow=True)

    (connection,) = stored()
    assert connection.status == GoogleCalendarConnection.Status.DISCONNECTED
    assert raw_tokens_are_null(business)
    assert "Google did not confirm revoking our access: Google answered HTTP 503" in (
        connection.last_error
    )
    assert connection.last_error_at is not None
    assert any("did not confirm revoking our access" in m for m in messages_on(done))


def test_google_unreachable_while_revoking_still_wipes_the_tokens(
    client, business, fake_google, settings
):
    connect(client, business)
    settings.GOOGLE_OAUTH_REVOKE_URI = "http://127.0.0.1:9/revoke"  # nothing listens there

    client.post(reverse("google_calendar:disconnect", args=[business.pk]))

    (connection,) = stored()
    assert connection.status == GoogleCalendarConnection.Status.DISCONNECTED
    assert raw_tokens_are_null(business)
    assert "Google did not answer (ConnectionError)" in connection.last_error


def test_disconnect_needs_a_post_with_the_csrf_token(staff, business, fake_google):
    strict = logged_in(staff, enforce_csrf_checks=True)
    connect(strict, business)

    forged = strict.post(reverse("google_calendar:disconnect", args=[business.pk]))

    assert forged.status_code == 403
    assert stored()[0].status == GoogleCalendarConnection.Status.CONNECTED
    assert fake_google.revoked_tokens == []


# -- Who may do this ---------------------------------------------------------------------------


def every_view(business) -> list[tuple[str, str]]:
    return [
        ("get", reverse("google_calendar:connect", args=[business.pk])),
        ("get", reverse("google_calendar:callback") + "?state=x&code=y"),
        ("get", reverse("google_calendar:calendars", args=[business.pk])),
        ("post", reverse("google_calendar:calendars", args=[business.pk])),
        ("get", reverse("google_calendar:disconnect", args=[business.pk])),
        ("post", reverse("google_calendar:disconnect", args=[business.pk])),
    ]


def test_staff_who_may_not_change_businesses_get_403_everywhere(client, business, fake_google):
    connect(client, business)
    viewer = logged_in(staff_member("viewer", may_change=False))

    for method, url in every_view(business):
        assert getattr(viewer, method)(url).status_code == 403, (method, url)
    assert stored()[0].status == GoogleCalendarConnection.Status.CONNECTED
    assert fake_google.revoked_tokens == []
    # Their business page shows the status without the buttons.
    page = viewer.get(business_page(business)).content.decode()
    assert "Connected as owner@example.com" in page
    assert "google-calendar-disconnect" not in page


def test_a_non_staff_user_with_the_permission_gets_403(business, fake_google):
    user = staff_member("not-staff")
    user.is_staff = False
    user.save()
    outsider = logged_in(user)

    for method, url in every_view(business):
        assert getattr(outsider, method)(url).status_code == 403, (method, url)


def test_signed_out_visitors_are_sent_to_the_login_page(business, fake_google):
    from django.test import Client

    for method, url in every_view(business):
        answer = getattr(Client(), method)(url)
        assert answer.status_code == 302 and "/admin/login/" in answer["Location"], url


# -- No OAuth client configured ------------------------------------------------------------


def test_without_an_oauth_client_the_page_says_what_to_set(client, business, settings):
    settings.GOOGLE_OAUTH_CLIENT_ID = ""
    settings.GOOGLE_OAUTH_CLIENT_SECRET = ""

    page = client.get(business_page(business)).content.decode()
    assert "To connect a Google Calendar, set <code>GOOGLE_OAUTH_CLIENT_ID</code> and " in page
    assert "google-calendar-connect" not in page

    answer = client.get(reverse("google_calendar:connect", args=[business.pk]))
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "<code>GOOGLE_OAUTH_CLIENT_ID</code>" in html
    assert "<code>GOOGLE_OAUTH_CLIENT_SECRET</code>" in html
    assert "/admin/google-calendar/callback/" in html  # the redirect URI to register


def test_the_business_page_offers_connect_when_configured(client, business, fake_google):
    page = client.get(business_page(business)).content.decode()

    assert 'id="google-calendar-status">Not connected</div>' in page
    connect_url = reverse("google_calendar:connect", args=[business.pk])
    assert f'href="{connect_url}">Connect Google Calendar</a>' in page


def test_a_revoked_grant_shows_needs_reconnect_with_the_reason(client, business, fake_google):
    connect(client, business)
    fake_google.invalidate_refresh_tokens()
    fake_google.expire_access_tokens()

    answer = client.get(reverse("google_calendar:calendars", args=[business.pk]), follow=True)

    assert answer.redirect_chain[-1][0] == business_page(business)
    assert any("reconnect the calendar" in m for m in messages_on(answer))
    page = answer.content.decode()
    assert 'id="google-calendar-status">Needs reconnect: Google refused our token' in page
    assert "Reconnect Google Calendar" in page


# -- Plain http only for a local fake --------------------------------------------------------


def test_under_debug_a_loopback_fake_google_works_without_extra_setup(
    client, business, fake_google, settings, monkeypatch
):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    settings.DEBUG = True

    connect(client, business)

    assert stored()[0].status == GoogleCalendarConnection.Status.CONNECTED


def test_without_debug_plain_http_endpoints_are_refused(
    client, business, fake_google, settings, monkeypatch
):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    settings.DEBUG = False

    answer = client.get(reverse("google_calendar:connect", args=[business.pk]), follow=True)

    assert answer.redirect_chain[-1][0] == business_page(business)
    assert any("must be an https:// address" in m for m in messages_on(answer))
    assert fake_google.count("GET", "/o/oauth2/auth") == 0
