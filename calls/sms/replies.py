"""Texts customers send to a business's number: Y confirms, C cancels, STOP/START opt out and
back in, anything else is a message for staff. Only a text that is exactly one of those
words acts on a booking; "cancel my 3pm and book 5pm" is a message for a person to read."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Booking, Business
from calls.dialogue.desk import cancel_with_text
from calls.sms.messages import confirmed_by_text, which_booking_unclear
from calls.sms.models import IncomingSms, SmsMessage, SmsOptOut

logger = logging.getLogger(__name__)

CANCEL_WORDS = {"C", "CANCEL"}
CONFIRM_WORDS = {"Y", "YES", "CONFIRM"}
# Twilio's default opt-out and opt-in keywords (CANCEL and YES aside: here they act on the
# booking; Twilio's own verdict still counts, through OptOutType).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "UNSTOP"}
MAX_BODY_CHARS = 1600  # Twilio's own limit for one message


@dataclass(frozen=True)
class Handled:
    action: str
    reply: str = ""  # what to text back ("" for nothing)


def keyword(body: str) -> str:
    """'c.' -> 'C', ' Yes! ' -> 'YES'; a longer text stays a sentence."""
    return re.sub(r"[^\w ]", "", body).strip().upper()


def handle_incoming(
    *, business: Business, message_sid: str, from_number: str, body: str, opt_out_type: str = ""
) -> Handled | None:
    """Record the text and act on it, once per MessageSid (None for a repeat)."""
    if IncomingSms.objects.filter(message_sid=message_sid).exists():
        return None
    word = keyword(body)
    twilio_says = opt_out_type.strip().upper()
    try:
        with transaction.atomic():
            handled, booking, note = _act(business, from_number, word, twilio_says)
            IncomingSms.objects.create(
                business=business,
                message_sid=message_sid,
                from_number=from_number,
                body=body[:MAX_BODY_CHARS],
                received_at=timezone.now(),
                action=handled.action,
                booking=booking,
                note=note,
            )
    except IntegrityError:
        # The same message, retried by Twilio while the first request was in flight.
        logger.info("Incoming text %s was already recorded.", message_sid)
        return None
    return handled


def _act(
    business: Business, phone: str, word: str, twilio_says: str
) -> tuple[Handled, Booking | None, str]:
    if word in STOP_WORDS or (twilio_says == "STOP" and word not in CANCEL_WORDS):
        _opt_out(business, phone)
        return Handled(IncomingSms.Action.OPTED_OUT), None, ""
    if word in START_WORDS or (twilio_says == "START" and word not in CONFIRM_WORDS):
        SmsOptOut.objects.filter(business=business, phone=phone).delete()
        return Handled(IncomingSms.Action.OPTED_IN), None, ""
    if twilio_says == "STOP":
        _opt_out(business, phone)  # "cancel": Twilio opted them out too; it also cancels
    elif twilio_says == "START":
        SmsOptOut.objects.filter(business=business, phone=phone).delete()
    if word in CANCEL_WORDS or word in CONFIRM_WORDS:
        booking = booking_texted_about(business, phone)
        if booking is None:
            return (
                Handled(IncomingSms.Action.MESSAGE, which_booking_unclear(business)),
                None,
                "No single upcoming booking for this number to act on.",
            )
        if word in CANCEL_WORDS:
            # Through the booking desk's cancel, as when a caller cancels: the provider's
            # clean-up (the calendar event is deleted) and the cancellation text are queued
            # in the outbox with it, so that text is the answer (no second one here).
            cancel_with_text(booking=booking)
            return Handled(IncomingSms.Action.CANCELLED), booking, ""
        if booking.confirmed_by_text_at is None:  # staff see it on the schedule and booking
            booking.confirmed_by_text_at = timezone.now()
            booking.save(update_fields=["confirmed_by_text_at", "updated_at"])
        return Handled(IncomingSms.Action.CONFIRMED, confirmed_by_text(booking)), booking, ""
    return Handled(IncomingSms.Action.MESSAGE), None, ""


def _opt_out(business: Business, phone: str) -> None:
    SmsOptOut.objects.get_or_create(
        business=business, phone=phone, defaults={"opted_out_at": timezone.now()}
    )


def booking_texted_about(business: Business, phone: str) -> Booking | None:
    """The booking a bare "Y" or "C" answers: the upcoming one we texted this number about
    last (a reminder or confirmation), else their only upcoming one; None when unsure."""
    upcoming = (
        Booking.objects.confirmed()
        .filter(business=business, customer_phone=phone, start__gt=timezone.now())
        .select_related("service", "business")
    )
    texted = (
        SmsMessage.objects.filter(booking__in=upcoming, to=phone, status=SmsMessage.Status.SENT)
        .order_by("-sent_at")
        .values_list("booking_id", flat=True)
        .first()
    )
    if texted is not None:
        return upcoming.select_for_update().get(pk=texted)
    candidates = list(upcoming.select_for_update()[:2])
    return candidates[0] if len(candidates) == 1 else None
