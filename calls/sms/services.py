"""Sending texts, at most once each: the SmsMessage row is written before every send, so
whatever happens to the process, the next attempt knows one may already be out there."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.models import Booking, Business
from bookings.orm import insert_or_get, unique_row
from calls.sms.backends import (
    Sender,
    SmsBackend,
    SmsNotSent,
    SmsRejected,
    get_backend,
)
from calls.sms.messages import (
    booking_cancelled,
    booking_confirmation,
    booking_moved,
    booking_reminder,
)
from calls.sms.models import SmsMessage, SmsOptOut

logger = logging.getLogger(__name__)


class BookingGone(Exception):
    """The booking to confirm was deleted: there is nothing left to text about."""


def sender_for(business: Business) -> Sender:
    """The business's own number, so a reply or call-back reaches its receptionist; the
    account's messaging service when the business has none."""
    if business.phone_number:
        return Sender(from_number=business.phone_number)
    service_sid = settings.TWILIO_MESSAGING_SERVICE_SID
    if service_sid:
        return Sender(messaging_service_sid=service_sid)
    raise SmsRejected(f"{business} has no number to text from and no messaging service is set.")


# What each kind of text says (calls.sms.messages).
BODIES = {
    SmsMessage.Kind.BOOKING_CONFIRMATION: booking_confirmation,
    SmsMessage.Kind.BOOKING_REMINDER: booking_reminder,
    SmsMessage.Kind.BOOKING_MOVED: booking_moved,
    SmsMessage.Kind.BOOKING_CANCELLED: booking_cancelled,
}


def opted_out(business: Business, phone: str) -> bool:
    return SmsOptOut.objects.filter(business=business, phone=phone).exists()


def send_booking_confirmation(*, booking_id: int, backend: SmsBackend | None = None) -> SmsMessage:
    return send_booking_text(
        booking_id=booking_id, kind=SmsMessage.Kind.BOOKING_CONFIRMATION, backend=backend
    )


def send_booking_text(
    *, booking_id: int, kind: str, backend: SmsBackend | None = None, not_after=None
) -> SmsMessage:
    """Text the customer about their booking (a confirmation, a reminder), once per kind.
    Safe to call again after any failure. `not_after`: past this moment the text is no
    longer worth sending (a reminder once the booking has started).

    Raises SmsRejected (recorded as failed), SmsNotSent (recorded as pending) or
    SmsOutcomeUnknown (recorded as unknown: the next call looks the text up first). It
    never writes to the booking.
    """
    booking = unique_row(
        Booking.objects.select_related("business", "service")
        .annotate(
            opted_out=Exists(
                SmsOptOut.objects.filter(
                    business=OuterRef("business"), phone=OuterRef("customer_phone")
                )
            )
        )
        .filter(pk=booking_id)
    )
    if booking is None:
        raise BookingGone(f"Booking {booking_id} no longer exists.")
    # Nearly always the first attempt: the text's row is inserted already decided (not to
    # be sent, or about to be), so a text costs a read, this insert and its outcome.
    now = timezone.now()
    refusal = _why_not(booking, kind, opted_out=booking.opted_out, not_after=not_after, now=now)
    sms, first = insert_or_get(
        SmsMessage(
            booking=booking,
            kind=kind,
            to=booking.customer_phone,
            body=BODIES[kind](booking),
            sender=str(sender_for(booking.business)),
            status=SmsMessage.Status.FAILED if refusal else SmsMessage.Status.UNKNOWN,
            error=refusal,
            attempts=0 if refusal else 1,
            first_attempt_at=None if refusal else now,
        ),
        booking=booking,
        kind=kind,
    )
    backend = backend or get_backend()
    if first:
        # Recorded before the request (as "unknown"): if we die waiting for the answer, the
        # next attempt looks before sending.
        return sms if refusal else _deliver(sms, backend)
    if sms.status in (SmsMessage.Status.SENT, SmsMessage.Status.FAILED):
        return sms
    if sms.status == SmsMessage.Status.UNKNOWN and _sent_earlier(sms, backend):
        return sms
    refusal = _why_not(
        booking, kind, opted_out=opted_out(booking.business, sms.to), not_after=not_after, now=now
    )
    if refusal:
        _save(sms, status=SmsMessage.Status.FAILED, error=refusal)
        return sms
    return _send(sms, backend)


def _why_not(booking: Booking, kind: str, *, opted_out: bool, not_after, now) -> str:
    """Why this text must not go out now ("" when it may)."""
    # Only the cancellation notice still goes out once the booking is cancelled.
    if booking.status == Booking.Status.CANCELLED and kind != SmsMessage.Kind.BOOKING_CANCELLED:
        return "Not sent: the booking was cancelled."
    if opted_out:
        return "Not sent: the customer texted STOP."
    if not_after is not None and now >= not_after:
        return "Not sent: too late to be of use."
    return ""


def _sent_earlier(sms: SmsMessage, backend: SmsBackend) -> bool:
    """Whether an earlier attempt whose outcome we never learnt did reach the provider."""
    found = backend.find_sent(to=sms.to, body=sms.body, since=sms.first_attempt_at)
    if found is None:
        return False
    logger.info("SMS %s had gone out after all (%s); not sending again.", sms.pk, found.sid)
    _mark_sent(sms, found.sid)
    return True


def _send(sms: SmsMessage, backend: SmsBackend) -> SmsMessage:
    now = timezone.now()
    # Recorded before the request: if we die waiting for the answer, the next attempt sees
    # "unknown" and looks before sending.
    _save(
        sms,
        status=SmsMessage.Status.UNKNOWN,
        attempts=sms.attempts + 1,
        first_attempt_at=sms.first_attempt_at or now,
    )
    return _deliver(sms, backend)


def _deliver(sms: SmsMessage, backend: SmsBackend) -> SmsMessage:
    """Send a text already recorded as "unknown" and record what came of it."""
    try:
        sent = backend.send(to=sms.to, body=sms.body, sender=_sender(sms))
    except SmsRejected as exc:
        _save(sms, status=SmsMessage.Status.FAILED, error=str(exc))
        raise
    except SmsNotSent as exc:
        _save(sms, status=SmsMessage.Status.PENDING, error=str(exc))
        raise
    except Exception as exc:
        # SmsOutcomeUnknown, or anything unexpected: assume it may have gone out.
        _save(sms, error=f"{type(exc).__name__}: {exc}")
        raise
    return _mark_sent(sms, sent.sid)


def _sender(sms: SmsMessage) -> Sender:
    if sms.sender.startswith("MG"):
        return Sender(messaging_service_sid=sms.sender)
    return Sender(from_number=sms.sender)


def _mark_sent(sms: SmsMessage, sid: str) -> SmsMessage:
    _save(sms, status=SmsMessage.Status.SENT, provider_sid=sid, error="", sent_at=timezone.now())
    return sms


def _save(sms: SmsMessage, **fields) -> None:
    for name, value in fields.items():
        setattr(sms, name, value)
    sms.save(update_fields=[*fields, "updated_at"])
