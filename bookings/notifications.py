"""Telling a business's staff that something needs them: an email to the business's
notification addresses and, when it has one, a text to its staff number.

Whoever notices the problem (a calendar integration, the call loop) calls `notify_staff`
with a key naming the occurrence ("the calendar connection 3 as connected at ..." or "call
CA123's message"); the notice is queued in the outbox under that key, so it goes out once
however often the problem is noticed, and survives a crash between noticing and sending.
Each notice carries the absolute URL (PUBLIC_BASE_URL) of the admin page that fixes it.

Email goes through Django's email backend (settings: console by default, SMTP from
EMAIL_URL). The text is sent by whichever app registers the STAFF_SMS task kind (calls,
which owns texting), so this module knows nothing of SMS providers.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from bookings.models import Booking, Business, OutboxTask
from bookings.outbox import PermanentTaskError, enqueue, nudge, register_task

logger = logging.getLogger(__name__)

STAFF_EMAIL = "staff.email"
STAFF_SMS = "staff.sms"
# A notice older than this is no news any more: not worth retrying for longer.
NOTICE_MAX_ATTEMPTS = 8


class Alert(enum.StrEnum):
    CALENDAR_RECONNECT = "calendar_reconnect"
    SYNC_FAILED = "sync_failed"
    MESSAGE = "message"
    PERSON_UNREACHABLE = "person_unreachable"
    LLM_FALLBACK = "llm_fallback"


@dataclass(frozen=True)
class Notice:
    business_id: int
    alert: str
    subject: str
    body: str
    url: str  # the admin page that fixes it, absolute

    def email_text(self) -> str:
        return f"{self.body}\n\nFix it here: {self.url}\n"

    def sms_text(self) -> str:
        # A text is a heads-up: short, with the link; the email has the details.
        return f"{self.subject}. {self.url}"


def admin_url(path: str) -> str:
    """An absolute link for a notice read outside the site (email, text)."""
    return f"{settings.PUBLIC_BASE_URL}{path}"


def notify_staff(
    *, business: Business, alert: Alert, key: str, subject: str, body: str, admin_path: str
) -> list[OutboxTask]:
    """Queue the notice for the business's staff, once per (alert, key): calling again
    with the same key queues nothing new. Returns the tasks (existing ones on a repeat)."""
    notice = Notice(
        business_id=business.pk,
        alert=str(alert),
        subject=f"{business.name}: {subject}",
        body=body,
        url=admin_url(admin_path),
    )
    channels = [
        (STAFF_EMAIL, bool(business.notification_email_list)),
        (STAFF_SMS, bool(business.staff_sms_number)),
    ]
    tasks = [
        enqueue(
            kind,
            asdict(notice),
            dedupe_key=f"{kind}:{alert}:{key}"[:200],
            max_attempts=NOTICE_MAX_ATTEMPTS,
        )
        for kind, wanted in channels
        if wanted
    ]
    if not tasks:
        logger.warning(
            "%s needs staff (%s) but has no notification recipients: %s",
            business.slug,
            alert,
            notice.subject,
        )
    nudge([task.pk for task in tasks if task.status == OutboxTask.Status.PENDING])
    return tasks


def notice_from(payload: dict[str, Any]) -> Notice:
    return Notice(**{name: payload[name] for name in Notice.__dataclass_fields__})


@register_task(STAFF_EMAIL)
def send_staff_email(payload: dict[str, Any]) -> None:
    """To the business's notification addresses as they are now (staff may have fixed a
    typo since the notice was queued). An SMTP failure is retried by the outbox."""
    notice = notice_from(payload)
    business = Business.objects.filter(pk=notice.business_id).first()
    if business is None:
        raise PermanentTaskError(f"Business {notice.business_id} no longer exists.")
    recipients = business.notification_email_list
    if not recipients:
        raise PermanentTaskError("The business has no notification addresses any more.")
    send_mail(
        notice.subject,
        notice.email_text(),
        settings.DEFAULT_FROM_EMAIL,
        recipients,
        fail_silently=False,
    )


# -- The notices every calendar integration sends (Google today, Outlook later) ----------------


CALENDAR_DOWN_MEANWHILE = (
    "Until it is reconnected, calls are answered from our own bookings only and new "
    "bookings wait to be written to the calendar."
)


def notify_calendar_needs_reconnect(
    *,
    business: Business,
    calendar: str,
    key: str,
    detail: str = "",
    meanwhile: str = CALENDAR_DOWN_MEANWHILE,
) -> list[OutboxTask]:
    """`calendar` ("Google Calendar") lost its grant; `key` names the grant that was lost
    (e.g. the connection and when it was connected), so a later reconnect can be lost and
    reported again. `meanwhile` says what callers get until it is fixed."""
    return notify_staff(
        business=business,
        alert=Alert.CALENDAR_RECONNECT,
        key=key,
        subject=f"{calendar} needs reconnecting",
        body=(
            f"{calendar} stopped accepting our access{f' ({detail})' if detail else ''}. "
            f"{meanwhile} Open the business page and connect the calendar again."
        ),
        admin_path=reverse("admin:bookings_business_change", args=[business.pk]),
    )


def notify_sync_failed(
    *, booking: Booking, calendar: str, error: str, manual_fix: str = ""
) -> list[OutboxTask]:
    """A booking's event in `calendar` ("Outlook Calendar") could not be written -- or, for a
    cancelled booking, deleted -- for good (no more retries). Told once per calendar, booking
    and revision of the booking (its last change): a later failure of a changed booking, or
    in another calendar, is news again."""
    revision = f"{booking.updated_at:%Y%m%d%H%M%S%f}" if booking.updated_at else "new"
    local = booking.start.astimezone(booking.business.tz)
    if booking.status == Booking.Status.CANCELLED:
        subject = f"A cancelled booking is still in {calendar} ({local:%a %b %d, %H:%M})"
        body = (
            f"The booking {booking} was cancelled, but its event could not be deleted from "
            f"{calendar}: {error}\n\nThe time still looks taken there: "
            f"{manual_fix or 'remove the event by hand'}."
        )
    else:
        subject = f"A booking is missing from the calendar ({local:%a %b %d, %H:%M})"
        body = (
            f"The booking {booking} is confirmed, but its {calendar} event could not be "
            f'written: {error}\n\nFix the cause, then use "Retry calendar sync now" on the '
            "booking."
        )
    return notify_staff(
        business=booking.business,
        alert=Alert.SYNC_FAILED,
        key=f"{calendar}:booking:{booking.pk}:{revision}",
        subject=subject,
        body=body,
        admin_path=reverse("admin:bookings_booking_change", args=[booking.pk]),
    )
