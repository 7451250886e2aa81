"""The text half of a staff notice (bookings.notifications): a short heads-up with the link
to the admin page, from the business's own number to its staff number.

A notice is sent at most once: when the provider's answer is lost we don't know whether it
went out, and a second copy of "your calendar needs reconnecting" is worse than relying on
the email, so an unknown outcome is not retried.
"""

from __future__ import annotations

from typing import Any

from bookings.models import Business
from bookings.notifications import STAFF_SMS, notice_from
from bookings.outbox import PermanentTaskError, RetryAfter, register_task
from calls.sms.backends import SmsNotSent, SmsOutcomeUnknown, SmsRejected, get_backend
from calls.sms.services import sender_for


@register_task(STAFF_SMS)
def send_staff_sms(payload: dict[str, Any]) -> None:
    notice = notice_from(payload)
    business = Business.objects.filter(pk=notice.business_id).first()
    if business is None or not business.staff_sms_number:
        raise PermanentTaskError("The business has no staff number to text any more.")
    try:
        get_backend().send(
            to=business.staff_sms_number, body=notice.sms_text(), sender=sender_for(business)
        )
    except (SmsRejected, SmsOutcomeUnknown) as exc:
        raise PermanentTaskError(str(exc)) from exc
    except SmsNotSent as exc:
        if exc.retry_after is not None:
            raise RetryAfter(exc.retry_after, str(exc)) from exc
        raise
