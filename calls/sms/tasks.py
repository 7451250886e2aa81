"""Outbox task kinds owned by calls/sms. Registered on import: calls' AppConfig.ready()
imports this module so every process (Daphne and run_worker) knows them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bookings.models import Booking, OutboxTask
from bookings.outbox import PermanentTaskError, RetryAfter, enqueue, outbox_task, register_task
from calls.sms.backends import SmsNotSent, SmsRejected
from calls.sms.models import SmsMessage
from calls.sms.reminders import SMS_BOOKING_REMINDER
from calls.sms.services import BookingGone, send_booking_confirmation, send_booking_text

SMS_BOOKING_CONFIRMATION = "sms.booking_confirmation"
SMS_BOOKING_CHANGE = "sms.booking_change"


def booking_confirmation_task(*, booking_id: int) -> OutboxTask:
    return outbox_task(
        SMS_BOOKING_CONFIRMATION,
        {"booking_id": booking_id},
        dedupe_key=f"sms:booking:{booking_id}",
    )


def enqueue_booking_confirmation(*, booking_id: int) -> OutboxTask:
    task = booking_confirmation_task(booking_id=booking_id)
    return enqueue(task.kind, task.payload, dedupe_key=task.dedupe_key)


@register_task(SMS_BOOKING_CONFIRMATION)
def run_booking_confirmation(payload: dict[str, Any]) -> None:
    _sending(lambda: send_booking_confirmation(booking_id=payload["booking_id"]))


def booking_change_text_task(*, booking_id: int, kind: str) -> OutboxTask:
    """The text for a move (on the new booking) or a cancellation (on the cancelled one)."""
    return outbox_task(
        SMS_BOOKING_CHANGE,
        {"booking_id": booking_id, "kind": SmsMessage.Kind(kind).value},
        dedupe_key=f"sms:{kind}:{booking_id}",
    )


def enqueue_booking_change_text(*, booking_id: int, kind: str) -> OutboxTask:
    task = booking_change_text_task(booking_id=booking_id, kind=kind)
    return enqueue(task.kind, task.payload, dedupe_key=task.dedupe_key)


@register_task(SMS_BOOKING_CHANGE)
def run_booking_change_text(payload: dict[str, Any]) -> None:
    _sending(lambda: send_booking_text(booking_id=payload["booking_id"], kind=payload["kind"]))


@register_task(SMS_BOOKING_REMINDER)
def run_booking_reminder(payload: dict[str, Any]) -> None:
    start = datetime.fromisoformat(payload["start"])
    current = Booking.objects.filter(pk=payload["booking_id"]).values_list("start", flat=True)
    if current.first() != start:
        return  # staff moved it since: the reminder for its new time is queued on its own
    _sending(
        lambda: send_booking_text(
            booking_id=payload["booking_id"],
            kind=SmsMessage.Kind.BOOKING_REMINDER,
            not_after=start,
        )
    )


def _sending(send: Callable[[], object]) -> None:
    """Run a send and turn its outcome into the outbox's: failed for good, retry later, or
    retried with backoff."""
    try:
        send()
    except (SmsRejected, BookingGone) as exc:
        raise PermanentTaskError(str(exc)) from exc
    except SmsNotSent as exc:
        if exc.retry_after is not None:
            raise RetryAfter(exc.retry_after, str(exc)) from exc
        raise
    # SmsOutcomeUnknown and anything else propagate: retried with backoff, looked up first.
