"""Outbox task kinds owned by calls/sms. Registered on import: calls' AppConfig.ready()
imports this module so every process (Daphne and run_worker) knows them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bookings.models import OutboxTask
from bookings.outbox import PermanentTaskError, RetryAfter, enqueue, register_task
from calls.sms.backends import SmsNotSent, SmsRejected
from calls.sms.services import BookingGone, send_booking_confirmation

SMS_BOOKING_CONFIRMATION = "sms.booking_confirmation"


def enqueue_booking_confirmation(*, booking_id: int) -> OutboxTask:
    return enqueue(
        SMS_BOOKING_CONFIRMATION,
        {"booking_id": booking_id},
        dedupe_key=f"sms:booking:{booking_id}",
    )


@contextmanager
def sms_task_outcome(*, permanent: tuple[type[Exception], ...]) -> Iterator[None]:
    """A text's failure as the outbox understands it: `permanent` ones fail the task, a
    provider that can't take it now is retried (after its Retry-After when it gave one)."""
    try:
        yield
    except permanent as exc:
        raise PermanentTaskError(str(exc)) from exc
    except SmsNotSent as exc:
        if exc.retry_after is not None:
            raise RetryAfter(exc.retry_after, str(exc)) from exc
        raise


@register_task(SMS_BOOKING_CONFIRMATION)
def run_booking_confirmation(payload: dict[str, Any]) -> None:
    # SmsOutcomeUnknown and anything else propagate: retried with backoff, looked up first.
    with sms_task_outcome(permanent=(SmsRejected, BookingGone)):
        send_booking_confirmation(booking_id=payload["booking_id"])
