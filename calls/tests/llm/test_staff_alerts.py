"""Staff are told, once each, when a caller leaves a message, when a caller asks for a
person nobody can put them through to, and when the LLM receptionist keeps falling back.
Whole calls through the call session (the LLM engine, and the embedded one it hands over
to), the notices through the outbox to Django's email backend and the console texts."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from bookings.models import Business, OutboxTask
from bookings.notifications import STAFF_EMAIL
from bookings.outbox import wait_for_nudges
from calls.sms.backends import console_outbox
from calls.tests.llm.line import call_record, open_line, say

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "https://rx.example.com"


@pytest.fixture
async def staff(demo, settings):
    settings.PUBLIC_BASE_URL = BASE
    # No model server: each call falls back to the embedded receptionist at once.
    settings.LLM_BASE_URL = "https://api.openai.com/v1"
    settings.LLM_API_KEY = ""
    settings.LLM_FALLBACK_ALERT_CALLS = 3
    console_outbox.clear()
    await Business.objects.filter(pk=demo.pk).aupdate(
        notification_emails="owner@demo.example", staff_sms_number="+15555550177"
    )
    return demo


async def notices() -> None:
    await sync_to_async(wait_for_nudges)(10)


async def hang_up(session) -> None:
    await session.close()
    await notices()


async def test_a_message_is_sent_to_staff_once_with_a_link_to_the_call(staff, mailoutbox):
    session, line = await open_line(staff, "CAmessage1")
    answer = await say(session, line, "Can I speak to a real person please?")
    assert "no one available" in answer and "take a message" in answer
    answer = await say(session, line, "This is Ann, please call me back about my colour")
    assert "make sure they get your message" in answer
    await session.wait_for_answer()
    await hang_up(session)
    await hang_up(session)  # closing twice (Twilio's end and the socket) changes nothing

    call = await call_record("CAmessage1")
    message = next(m for m in mailoutbox if "Message from" in m.subject)
    assert message.subject == "Demo Salon: Message from +15555550123"
    assert "This is Ann, please call me back about my colour" in message.body
    assert "asked for a person" in message.body
    assert f"{BASE}/admin/calls/call/{call.pk}/change/" in message.body
    assert message.to == ["owner@demo.example"]
    texts = [sms for sms in console_outbox if sms.to == "+15555550177"]
    assert len(texts) == 1 and texts[0].body.startswith("Demo Salon: Message from")
    # One notice per call: the person who couldn't be reached is in the message's email.
    assert not any("asked for a person" in m.subject for m in mailoutbox)


async def test_asking_for_a_person_and_hanging_up_is_a_notice(staff, mailoutbox):
    session, line = await open_line(staff, "CAperson1")
    await say(session, line, "I want to talk to a human")
    await hang_up(session)
    subjects = [m.subject for m in mailoutbox]
    assert "Demo Salon: +15555550123 asked for a person" in subjects
    (mail,) = [m for m in mailoutbox if "asked for a person" in m.subject]
    call = await call_record("CAperson1")
    assert f"{BASE}/admin/calls/call/{call.pk}/change/" in mail.body


async def test_an_llm_that_keeps_falling_back_is_reported_once_a_day(staff, mailoutbox):
    for number in range(1, 6):
        session, line = await open_line(staff, f"CAfallback{number}")
        await say(session, line, "What are your opening hours?")
        await hang_up(session)
        fallback_mails = [m for m in mailoutbox if "keeps falling back" in m.subject]
        # Nothing for the first two: a blip is no news.
        assert len(fallback_mails) == (0 if number < 3 else 1)
    (mail,) = fallback_mails
    assert "on 3 calls in the last 24 hours" in mail.body
    assert "the LLM is not configured (LLM_API_KEY)" in mail.body
    assert f"{BASE}/admin/bookings/business/{staff.pk}/change/" in mail.body
    assert await OutboxTask.objects.filter(kind=STAFF_EMAIL).acount() == 1
