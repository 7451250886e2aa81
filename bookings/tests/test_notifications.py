"""Staff notices: queued once per occurrence, sent through Django's email backend (and a
text when the business has a staff number), with an absolute link to the admin page."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bookings.models import OutboxTask
from bookings.notifications import STAFF_EMAIL, STAFF_SMS, Alert, notify_staff
from bookings.outbox import run_due
from bookings.tests.factories import BusinessFactory
from calls.sms.backends import console_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def by_hand(settings):
    settings.OUTBOX_RUN_IN_PROCESS = False
    settings.PUBLIC_BASE_URL = "https://rx.example.com"
    console_outbox.clear()


def notify(business, key="call:CA1"):
    return notify_staff(
        business=business,
        alert=Alert.MESSAGE,
        key=key,
        subject="Message from +15555550123",
        body="Please call me back.",
        admin_path="/admin/calls/call/7/change/",
    )


def test_each_notice_is_sent_once_however_often_it_is_raised(mailoutbox):
    business = BusinessFactory(
        notification_emails="a@salon.example\nb@salon.example", staff_sms_number="+15555550177"
    )
    first = notify(business)
    again = notify(business)
    assert [t.pk for t in first] == [t.pk for t in again]
    assert {t.kind for t in first} == {STAFF_EMAIL, STAFF_SMS}
    run_due()
    run_due()
    notify(business)
    run_due()
    (sent,) = mailoutbox
    assert sent.to == ["a@salon.example", "b@salon.example"]
    assert sent.subject == f"{business.name}: Message from +15555550123"
    assert sent.body == (
        "Please call me back.\n\nFix it here: https://rx.example.com/admin/calls/call/7/change/\n"
    )
    (text,) = console_outbox
    assert text.to == "+15555550177" and text.sender == business.phone_number
    assert text.body.endswith("https://rx.example.com/admin/calls/call/7/change/")
    # Another occurrence is another notice.
    notify(business, key="call:CA2")
    run_due()
    assert len(mailoutbox) == 2


def test_a_business_without_recipients_queues_nothing(mailoutbox):
    assert notify(BusinessFactory()) == []
    assert not OutboxTask.objects.exists()


def test_a_notice_queued_in_a_rolled_back_transaction_is_not_sent(mailoutbox):
    business = BusinessFactory(notification_emails="a@salon.example")
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(business)
        raise RuntimeError("the write it belonged to failed")
    run_due()
    assert mailoutbox == []


def test_an_smtp_failure_is_retried_and_then_sent_once(monkeypatch, mailoutbox):
    business = BusinessFactory(notification_emails="a@salon.example")
    notify(business)
    real_send = mail.get_connection().__class__.send_messages

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(mail.get_connection().__class__, "send_messages", refuse)
    run_due()
    (task,) = OutboxTask.objects.all()
    assert task.status == OutboxTask.Status.PENDING and "SMTPServerDisconnected" in task.last_error
    monkeypatch.setattr(mail.get_connection().__class__, "send_messages", real_send)
    run_due(now=timezone.now() + timedelta(minutes=1))
    assert len(mailoutbox) == 1
    task.refresh_from_db()
    assert task.status == OutboxTask.Status.DONE


def test_notification_addresses_are_validated():
    business = BusinessFactory(notification_emails="owner@salon.example, not an address")
    with pytest.raises(ValidationError, match="'not' is not an email address"):
        business.full_clean()
