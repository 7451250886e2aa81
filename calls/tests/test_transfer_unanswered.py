"""A caller put through to the business's transfer number that nobody answers hears so,
and the staff are told once who called (Twilio's <Dial action> request, signed)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.models import OutboxTask
from bookings.notifications import STAFF_EMAIL
from bookings.outbox import run_due
from calls.models import Call
from calls.tests.test_webhooks import (
    BUSINESS_NUMBER,
    TRANSFER_NUMBER,
    business,
    payload,
    session_ended_url,
    signed_post,
    twilio_settings,
    twiml,
)

pytestmark = pytest.mark.django_db
# The webhook tests' fixtures: their business, and posting signed like Twilio.
FIXTURES = (business, signed_post, twilio_settings)


@pytest.fixture
def call(business, settings):
    settings.OUTBOX_RUN_IN_PROCESS = False
    business.notification_emails = "owner@bright.example"
    business.save()
    return Call.objects.create(
        sid=payload("dial_ended_no_answer")["CallSid"],
        business=business,
        from_number="+15558670199",
        to_number=BUSINESS_NUMBER,
    )


def dial_ended_url(slug: str = "bright-cuts") -> str:
    return reverse("calls:dial_ended", args=[slug])


def test_the_transfer_asks_twilio_to_report_how_it_went(signed_post, call):
    root = twiml(signed_post(session_ended_url(), payload("session_ended_transfer")))
    dial = root.find("Dial")
    assert dial.text == TRANSFER_NUMBER
    assert dial.get("action") == "http://127.0.0.1:8000" + dial_ended_url()


def test_nobody_answering_is_said_and_told_to_staff_once(signed_post, call, mailoutbox):
    signed_post(session_ended_url(), payload("session_ended_transfer"))
    root = twiml(signed_post(dial_ended_url(), payload("dial_ended_no_answer")))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "nobody could take your call" in root.find("Say").text
    # Twilio retries the request: nothing more.
    signed_post(dial_ended_url(), payload("dial_ended_no_answer"))
    run_due()

    call.refresh_from_db()
    assert [e["event"] for e in call.events] == ["person_unreachable"]
    (mail,) = mailoutbox
    assert mail.subject == "Bright Cuts: +15558670199 asked for a person"
    assert f"Transfer to {TRANSFER_NUMBER}: no-answer" in mail.body
    assert f"/admin/calls/call/{call.pk}/change/" in mail.body
    assert OutboxTask.objects.filter(kind=STAFF_EMAIL).count() == 1


def test_an_answered_transfer_just_hangs_up(signed_post, call, mailoutbox):
    answered = payload("dial_ended_no_answer", DialCallStatus="completed", DialCallDuration="95")
    root = twiml(signed_post(dial_ended_url(), answered))
    assert [child.tag for child in root] == ["Hangup"]
    run_due()
    assert mailoutbox == []


def test_a_forged_dial_report_is_forbidden_and_changes_nothing(client, call, mailoutbox):
    response = client.post(dial_ended_url(), payload("dial_ended_no_answer"))
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.events == [] and not OutboxTask.objects.exists()
