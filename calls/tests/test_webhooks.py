"""Twilio's voice webhooks, driven the way Twilio drives them: signed form POSTs.

Payloads come from JSON fixtures shaped like Twilio's documented parameters; signatures are
computed with the twilio library's own RequestValidator over the public URL.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from bookings.tests.factories import BusinessFactory, ServiceFactory
from calls.models import Call
from calls.twilio_signature import websocket_signature_valid, websocket_url

FIXTURES = Path(__file__).parent / "fixtures"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
BUSINESS_NUMBER = "+15558670100"  # "To" in the fixtures
TRANSFER_NUMBER = "+15558670123"  # "transferTo" in session_ended_transfer.json
CALL_SID = "CA5f1e3c2b9a8d7e6f5a4b3c2d1e0f9a8b"


def payload(name: str, **overrides: str) -> dict[str, str]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data = {key: value for key, value in data.items() if not key.startswith("_")}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    return settings


@pytest.fixture
def signed_post(client, settings):
    """POST like Twilio: form-encoded, signed over PUBLIC_BASE_URL + path."""

    def post(path: str, data: dict[str, str], **extra):
        signature = sign(settings.PUBLIC_BASE_URL + path, data)
        return client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature, **extra)

    return post


@pytest.fixture
def business(db):
    return BusinessFactory(
        slug="bright-cuts",
        name="Bright Cuts",
        phone_number=BUSINESS_NUMBER,
        greeting="Hi, Bright Cuts here. What can I do for you?",
        transfer_number=TRANSFER_NUMBER,
    )


@pytest.fixture
def services(business):
    return [
        ServiceFactory(business=business, name="Haircut", synonyms="trim, cut"),
        ServiceFactory(business=business, name="Balayage", synonyms="highlights"),
        ServiceFactory(business=business, name="Perm", is_active=False),
    ]


def incoming_url(slug: str = "bright-cuts") -> str:
    return reverse("calls:incoming", args=[slug])


def session_ended_url(slug: str = "bright-cuts") -> str:
    return reverse("calls:session_ended", args=[slug])


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return root


def relay_of(root: ET.Element) -> tuple[ET.Element, ET.Element]:
    connect = root.find("Connect")
    assert connect is not None
    relay = connect.find("ConversationRelay")
    assert relay is not None
    return connect, relay


# --- /voice/incoming/<slug>/ -----------------------------------------------------------


def test_incoming_call_is_connected_to_conversation_relay(signed_post, business, services):
    root = twiml(signed_post(incoming_url(), payload("incoming_call")))

    connect, relay = relay_of(root)
    assert connect.get("action") == "http://127.0.0.1:8000/voice/session-ended/bright-cuts/"
    assert relay.get("url") == f"ws://127.0.0.1:8000/ws/voice/bright-cuts/{CALL_SID}/"
    assert relay.get("welcomeGreeting") == "Hi, Bright Cuts here. What can I do for you?"
    assert relay.get("hints").split(",") == ["Balayage", "highlights", "Haircut", "trim", "cut"]
    assert relay.get("dtmfDetection") == "true"
    assert relay.get("language") == "en-US"
    assert relay.get("interruptible") == "any"
    assert relay.get("welcomeGreetingInterruptible") == "any"


def test_incoming_call_is_recorded(signed_post, business):
    signed_post(incoming_url(), payload("incoming_call"))

    call = Call.objects.get()
    assert call.sid == CALL_SID
    assert call.business == business
    assert call.channel == Call.Channel.PHONE
    assert call.from_number == "+15558670199"
    assert call.to_number == BUSINESS_NUMBER
    assert call.outcome == Call.Outcome.IN_PROGRESS


def test_https_public_url_gives_a_wss_socket_and_https_action(settings, signed_post, business):
    settings.PUBLIC_BASE_URL = "https://receptionist.example.com"

    connect, relay = relay_of(twiml(signed_post(incoming_url(), payload("incoming_call"))))

    assert relay.get("url") == f"wss://receptionist.example.com/ws/voice/bright-cuts/{CALL_SID}/"
    assert connect.get("action") == (
        "https://receptionist.example.com/voice/session-ended/bright-cuts/"
    )


def test_default_greeting_names_the_business(signed_post, business):
    business.greeting = ""
    business.save()

    _, relay = relay_of(twiml(signed_post(incoming_url(), payload("incoming_call"))))

    assert relay.get("welcomeGreeting") == (
        "Hello, thanks for calling Bright Cuts. How can I help you?"
    )


def test_business_without_services_gets_no_hints(signed_post, business):
    _, relay = relay_of(twiml(signed_post(incoming_url(), payload("incoming_call"))))

    assert relay.get("hints") is None


def test_twilio_needs_no_csrf_token(settings, business):
    # Twilio has no session or CSRF cookie: the signature is the webhook's authentication.
    data = payload("incoming_call")
    signature = sign(settings.PUBLIC_BASE_URL + incoming_url(), data)

    response = Client(enforce_csrf_checks=True).post(
        incoming_url(), data, HTTP_X_TWILIO_SIGNATURE=signature
    )

    assert response.status_code == 200


def test_twilio_retrying_the_same_call_keeps_one_row(signed_post, business):
    first = signed_post(incoming_url(), payload("incoming_call"))
    retry = signed_post(incoming_url(), payload("incoming_call"))

    assert first.status_code == retry.status_code == 200
    assert first.content == retry.content
    assert Call.objects.count() == 1


def test_missing_signature_is_forbidden_and_stores_nothing(client, business):
    response = client.post(incoming_url(), payload("incoming_call"))

    assert response.status_code == 403
    assert Call.objects.count() == 0


def test_signature_with_another_token_is_forbidden(client, settings, business):
    data = payload("incoming_call")
    forged = sign(settings.PUBLIC_BASE_URL + incoming_url(), data, token="not-our-token")

    response = client.post(incoming_url(), data, HTTP_X_TWILIO_SIGNATURE=forged)

    assert response.status_code == 403
    assert Call.objects.count() == 0


def test_tampered_parameters_are_forbidden(client, settings, business):
    data = payload("incoming_call")
    signature = sign(settings.PUBLIC_BASE_URL + incoming_url(), data)

    tampered = {**data, "From": "+15550001111"}
    response = client.post(incoming_url(), tampered, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 403
    assert Call.objects.count() == 0


def test_signature_is_checked_against_the_public_url_not_the_request_host(client, business):
    # Behind a TLS proxy the app sees http://internal:8000; Twilio signed the public URL.
    data = payload("incoming_call")
    over_request_host = sign("http://testserver" + incoming_url(), data)

    response = client.post(incoming_url(), data, HTTP_X_TWILIO_SIGNATURE=over_request_host)

    assert response.status_code == 403


def test_public_url_signature_is_accepted_whatever_host_the_proxy_forwards(
    settings, client, business
):
    settings.PUBLIC_BASE_URL = "https://receptionist.example.com"
    settings.ALLOWED_HOSTS = ["internal"]
    data = payload("incoming_call")
    signature = sign("https://receptionist.example.com" + incoming_url(), data)

    response = client.post(
        incoming_url(), data, HTTP_X_TWILIO_SIGNATURE=signature, HTTP_HOST="internal"
    )

    assert response.status_code == 200
    assert Call.objects.count() == 1


def test_query_string_is_part_of_the_signed_url(client, settings, business):
    data = payload("incoming_call")
    path = incoming_url() + "?source=main-line"
    signature = sign(settings.PUBLIC_BASE_URL + path, data)

    assert client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    without_query = sign(settings.PUBLIC_BASE_URL + incoming_url(), data)
    assert client.post(path, data, HTTP_X_TWILIO_SIGNATURE=without_query).status_code == 403


def test_get_is_not_allowed(client, business):
    assert client.get(incoming_url()).status_code == 405
    assert client.get(session_ended_url()).status_code == 405


def test_missing_call_sid_is_a_bad_request(signed_post, business):
    response = signed_post(incoming_url(), payload("incoming_call", CallSid=None))

    assert response.status_code == 400
    assert b"CallSid" in response.content
    assert Call.objects.count() == 0


def test_call_sid_that_would_reshape_the_socket_path_is_a_bad_request(signed_post, business):
    response = signed_post(incoming_url(), payload("incoming_call", CallSid="CA1/../admin?x=1"))

    assert response.status_code == 400
    assert Call.objects.count() == 0


def test_json_body_is_a_bad_request(client, settings, business):
    # Twilio posts forms; a JSON body carries no CallSid we can read.
    signature = sign(settings.PUBLIC_BASE_URL + incoming_url(), {})
    response = client.post(
        incoming_url(),
        json.dumps(payload("incoming_call")),
        content_type="application/json",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )

    assert response.status_code == 400
    assert Call.objects.count() == 0


def test_broken_form_body_is_a_bad_request(client, business):
    response = client.generic(
        "POST", incoming_url(), b"garbage", content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert Call.objects.count() == 0


def test_unknown_business_hears_an_apology(signed_post, db):
    root = twiml(signed_post(incoming_url("no-such-salon"), payload("incoming_call")))

    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find("Say").text == "Sorry, this number is not taking calls right now. Goodbye."
    assert Call.objects.count() == 0


def test_inactive_business_hears_an_apology(signed_post, business):
    business.is_active = False
    business.save()

    root = twiml(signed_post(incoming_url(), payload("incoming_call")))

    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert Call.objects.count() == 0


def test_unknown_business_still_needs_a_signature(client, db):
    response = client.post(incoming_url("no-such-salon"), payload("incoming_call"))

    assert response.status_code == 403


# --- /voice/session-ended/<slug>/ ------------------------------------------------------


@pytest.fixture
def call(business):
    return Call.objects.create(
        sid=CALL_SID, business=business, from_number="+15558670199", to_number=BUSINESS_NUMBER
    )


def test_completed_session_hangs_up_and_closes_the_call(signed_post, call):
    root = twiml(signed_post(session_ended_url(), payload("session_ended_completed")))

    assert [child.tag for child in root] == ["Hangup"]
    call.refresh_from_db()
    assert call.ended_at is not None
    assert call.session_status == "completed"
    assert call.session_error == ""
    assert call.outcome == Call.Outcome.ABANDONED  # the conversation reached no outcome


def test_outcome_reached_in_the_conversation_is_kept(signed_post, call):
    call.outcome = Call.Outcome.BOOKED
    call.save()

    signed_post(session_ended_url(), payload("session_ended_completed"))

    call.refresh_from_db()
    assert call.outcome == Call.Outcome.BOOKED


def test_transfer_dials_the_configured_number(signed_post, call):
    root = twiml(signed_post(session_ended_url(), payload("session_ended_transfer")))

    dial = root.find("Dial")
    assert [child.tag for child in root] == ["Dial"]
    assert dial.text == TRANSFER_NUMBER
    assert dial.get("callerId") == BUSINESS_NUMBER
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.TRANSFERRED
    assert call.handoff_to == TRANSFER_NUMBER


def test_transfer_after_the_session_closed_as_abandoned_is_recorded_as_transferred(
    signed_post, call
):
    # The consumer may close the socket (and settle "abandoned") before Twilio calls back.
    call.outcome = Call.Outcome.ABANDONED
    call.ended_at = timezone.now()
    call.save()

    signed_post(session_ended_url(), payload("session_ended_transfer"))

    call.refresh_from_db()
    assert call.outcome == Call.Outcome.TRANSFERRED


def test_limit_reached_puts_the_caller_through(signed_post, call):
    handoff = json.dumps({"reason": "limit", "transferTo": TRANSFER_NUMBER})
    root = twiml(
        signed_post(session_ended_url(), payload("session_ended_completed", HandoffData=handoff))
    )

    assert root.find("Dial").text == TRANSFER_NUMBER


def test_transfer_number_spelled_differently_still_matches(signed_post, call):
    handoff = json.dumps({"reason": "transfer", "transferTo": "(555) 867-0123"})
    root = twiml(
        signed_post(session_ended_url(), payload("session_ended_completed", HandoffData=handoff))
    )

    assert root.find("Dial").text == TRANSFER_NUMBER


@pytest.mark.parametrize(
    "handoff",
    ["[" * 100_000 + "]" * 100_000, '{"reason": ' + "[" * 100_000 + "]" * 100_000 + "}"],
    ids=["nested-array", "nested-inside-an-object"],
)
def test_deeply_nested_handoff_data_hangs_up_cleanly(signed_post, call, handoff):
    root = twiml(
        signed_post(session_ended_url(), payload("session_ended_completed", HandoffData=handoff))
    )

    assert [child.tag for child in root] == ["Hangup"]
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.ABANDONED
    assert [e["event"] for e in call.events] == ["bad_handoff_data"]
    assert len(call.events[0]["detail"]) < 300


def test_transfer_to_any_other_number_is_refused(signed_post, call):
    handoff = json.dumps({"reason": "transfer", "transferTo": "+19005550000"})
    root = twiml(
        signed_post(session_ended_url(), payload("session_ended_completed", HandoffData=handoff))
    )

    assert [child.tag for child in root] == ["Hangup"]
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.ABANDONED
    assert call.handoff_to == ""
    assert [e["event"] for e in call.events] == ["transfer_refused"]
    assert "+19005550000" in call.events[0]["detail"]


def test_no_transfer_when_the_business_has_no_transfer_number(signed_post, call):
    call.business.transfer_number = ""
    call.business.save()

    root = twiml(signed_post(session_ended_url(), payload("session_ended_transfer")))

    assert [child.tag for child in root] == ["Hangup"]


def test_failed_session_marks_the_call_failed(signed_post, call):
    root = twiml(signed_post(session_ended_url(), payload("session_ended_failed")))

    assert [child.tag for child in root] == ["Hangup"]
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.FAILED
    assert call.session_status == "failed"
    assert call.session_error == "64101: Unable to connect to the WebSocket URL"
    assert [e["event"] for e in call.events] == ["session_failed"]


def test_failed_session_keeps_an_outcome_already_reached(signed_post, call):
    call.outcome = Call.Outcome.BOOKED
    call.save()

    signed_post(session_ended_url(), payload("session_ended_failed"))

    call.refresh_from_db()
    assert call.outcome == Call.Outcome.BOOKED
    assert call.session_error.startswith("64101")


@pytest.mark.parametrize("handoff", ["{not json", "[1, 2]", '"transfer"'])
def test_unusable_handoff_data_means_no_handoff(signed_post, call, handoff):
    root = twiml(
        signed_post(session_ended_url(), payload("session_ended_completed", HandoffData=handoff))
    )

    assert [child.tag for child in root] == ["Hangup"]
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.ABANDONED
    assert [e["event"] for e in call.events] == ["bad_handoff_data"]


def test_twilio_retrying_session_ended_records_events_once(signed_post, call):
    signed_post(session_ended_url(), payload("session_ended_failed"))
    signed_post(session_ended_url(), payload("session_ended_failed"))

    call.refresh_from_db()
    assert len(call.events) == 1


def test_unknown_call_is_hung_up(signed_post, business):
    root = twiml(signed_post(session_ended_url(), payload("session_ended_transfer")))

    assert [child.tag for child in root] == ["Hangup"]
    assert Call.objects.count() == 0


def test_call_of_another_business_is_hung_up_and_left_alone(signed_post, call):
    BusinessFactory(slug="other-salon")

    root = twiml(signed_post(session_ended_url("other-salon"), payload("session_ended_transfer")))

    assert [child.tag for child in root] == ["Hangup"]
    call.refresh_from_db()
    assert call.ended_at is None
    assert call.outcome == Call.Outcome.IN_PROGRESS


def test_unsigned_session_ended_is_forbidden_and_changes_nothing(client, call):
    response = client.post(session_ended_url(), payload("session_ended_transfer"))

    assert response.status_code == 403
    call.refresh_from_db()
    assert call.ended_at is None
    assert call.outcome == Call.Outcome.IN_PROGRESS


# --- the WebSocket handshake -------------------------------------------------------------

SOCKET_PATH = f"/ws/voice/bright-cuts/{CALL_SID}/"


def test_websocket_url_follows_the_public_scheme(settings):
    assert websocket_url(SOCKET_PATH) == f"ws://127.0.0.1:8000{SOCKET_PATH}"
    settings.PUBLIC_BASE_URL = "https://receptionist.example.com"
    assert websocket_url(SOCKET_PATH) == f"wss://receptionist.example.com{SOCKET_PATH}"


def test_handshake_signed_by_twilio_is_valid(settings):
    settings.PUBLIC_BASE_URL = "https://receptionist.example.com"
    signature = sign(f"wss://receptionist.example.com{SOCKET_PATH}", {})

    assert websocket_signature_valid(SOCKET_PATH, signature)


def test_handshake_signature_covers_the_query_string():
    path = SOCKET_PATH + "?engine=rules"
    signature = sign(f"ws://127.0.0.1:8000{path}", {})

    assert websocket_signature_valid(path, signature)
    assert not websocket_signature_valid(SOCKET_PATH, signature)
    assert not websocket_signature_valid(SOCKET_PATH + "?engine=other", signature)


def test_handshake_signed_for_another_path_or_scheme_is_invalid(settings):
    settings.PUBLIC_BASE_URL = "https://receptionist.example.com"
    other_call = sign("wss://receptionist.example.com/ws/voice/bright-cuts/CAother/", {})
    plain_ws = sign(f"ws://receptionist.example.com{SOCKET_PATH}", {})

    assert not websocket_signature_valid(SOCKET_PATH, other_call)
    assert not websocket_signature_valid(SOCKET_PATH, plain_ws)


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
def test_handshake_without_a_real_signature_is_invalid(signature):
    assert not websocket_signature_valid(SOCKET_PATH, signature)


def test_handshake_signed_with_another_token_is_invalid():
    forged = sign(f"ws://127.0.0.1:8000{SOCKET_PATH}", {}, token="not-our-token")

    assert not websocket_signature_valid(SOCKET_PATH, forged)


def test_twiml_socket_url_is_the_url_the_handshake_check_expects(settings, signed_post, business):
    settings.PUBLIC_BASE_URL = "https://receptionist.example.com"
    _, relay = relay_of(twiml(signed_post(incoming_url(), payload("incoming_call"))))

    # Twilio signs the handshake over the url attribute exactly as written.
    signature = sign(relay.get("url"), {})
    assert websocket_signature_valid(SOCKET_PATH, signature)
