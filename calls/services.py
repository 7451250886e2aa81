"""Writes to a Call made by Twilio's voice webhooks: the call arriving, and its session ending.

The call session (calls/session.py) writes the conversation itself; these two functions own
what only Twilio knows: who called, and how the ConversationRelay session ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bookings.models import Business
from bookings.phones import to_e164
from calls.models import Call
from calls.staff_alerts import PERSON_UNREACHABLE, alert_staff_about_call

logger = logging.getLogger(__name__)

# Handoff reasons after which the caller is put through to a person (see Ending.reason).
TRANSFER_REASONS = frozenset({"transfer", "limit"})
# Outcomes that say nothing yet about how the call went: the session closing its socket
# records "abandoned" when no engine outcome was reached, possibly before Twilio's
# session-ended request arrives with the real story.
UNSETTLED = frozenset({Call.Outcome.IN_PROGRESS, Call.Outcome.ABANDONED})


@dataclass(frozen=True)
class SessionEnd:
    """What Twilio posts to the <Connect action> URL, parsed by the view."""

    call_sid: str
    status: str  # SessionStatus, e.g. "completed" or "failed"
    handoff: dict[str, str] | None = None  # our `end` message's handoffData, when it parsed
    handoff_problem: str = ""  # why HandoffData was unusable, when it was sent but bad
    error_code: str = ""
    error_message: str = ""

    @property
    def failed(self) -> bool:
        return self.status.lower() == "failed" or bool(self.error_code)


@dataclass(frozen=True)
class ClosedCall:
    call: Call | None  # None: no such call for this business
    transfer_to: str = ""  # the business's own transfer number, when the caller goes there


def record_incoming_call(
    *, business: Business, call_sid: str, from_number: str, to_number: str
) -> Call:
    """The Call for a ringing phone call. Idempotent on the CallSid: Twilio retries webhooks,
    and a retry (even a concurrent one) finds the row the first attempt made."""
    call, created = Call.objects.get_or_create(
        sid=call_sid,
        defaults={
            "business": business,
            "channel": Call.Channel.PHONE,
            "from_number": from_number,
            "to_number": to_number,
        },
    )
    if not created:
        logger.info("Twilio retried the incoming webhook for call %s", call_sid)
    return call


def approved_transfer_number(business: Business, handoff: dict[str, str] | None) -> str:
    """The number to put the caller through to, or "".

    Only ever the business's configured transfer number: the handoff data came through a
    socket, and dialing whatever number it names would make us a free call-forwarding service
    for anyone who can get text onto that socket.
    """
    if not handoff or handoff.get("reason") not in TRANSFER_REASONS:
        return ""
    requested = handoff.get("transferTo", "")
    configured = business.transfer_number
    if not (requested and configured):
        return ""
    if to_e164(requested) != configured:
        return ""
    return configured


@transaction.atomic
def close_call_from_session_end(
    *, business_slug: str, end: SessionEnd, now: datetime | None = None
) -> ClosedCall:
    """Record how the ConversationRelay session ended and decide where the caller goes next.

    Settles the outcome when the conversation did not: transferred when the caller is put
    through, failed when Twilio reports a failed session, abandoned otherwise. A retried
    request changes nothing further.
    """
    now = now or timezone.now()
    call = (
        Call.objects.select_for_update()
        .select_related("business")
        .filter(sid=end.call_sid, business__slug=business_slug)
        .first()
    )
    if call is None:
        logger.warning("Session ended for unknown call %s (%s)", end.call_sid, business_slug)
        return ClosedCall(call=None)

    transfer_to = approved_transfer_number(call.business, end.handoff)
    requested = (end.handoff or {}).get("transferTo", "")
    if requested and not transfer_to:
        logger.warning("Call %s: refused transfer to a number that is not configured", call.sid)
        _add_event(call, now, "transfer_refused", f"Asked to transfer to {requested}")
    if end.handoff_problem:
        _add_event(call, now, "bad_handoff_data", end.handoff_problem)
    if end.failed:
        error = ": ".join(part for part in (end.error_code, end.error_message) if part)
        call.session_error = error or "Session failed"
        _add_event(call, now, "session_failed", call.session_error)

    if call.outcome in UNSETTLED:
        if transfer_to:
            call.outcome = Call.Outcome.TRANSFERRED
        elif end.failed:
            call.outcome = Call.Outcome.FAILED
        else:
            call.outcome = Call.Outcome.ABANDONED
    if transfer_to:
        call.handoff_to = transfer_to
    call.session_status = end.status[:32]
    call.ended_at = call.ended_at or now
    call.save(
        update_fields=[
            "outcome",
            "handoff_to",
            "session_status",
            "session_error",
            "ended_at",
            "events",
        ]
    )
    return ClosedCall(call=call, transfer_to=transfer_to)


# DialCallStatus values (Twilio) that mean the caller never reached anyone.
UNANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})


def record_transfer_result(*, business_slug: str, call_sid: str, dial_status: str) -> bool:
    """How putting the caller through went; True when nobody answered (recorded on the
    Call, and the staff are told once). A retried request changes nothing further."""
    status = dial_status.lower()[:32]
    unanswered = status in UNANSWERED
    with transaction.atomic():
        call = (
            Call.objects.select_for_update()
            .select_related("business")
            .filter(sid=call_sid, business__slug=business_slug)
            .first()
        )
        if call is None:
            logger.warning("Transfer ended for unknown call %s (%s)", call_sid, business_slug)
            return unanswered
        event = PERSON_UNREACHABLE if unanswered else "transfer_ended"
        _add_event(call, timezone.now(), event, f"Transfer to {call.handoff_to}: {status}")
        call.save(update_fields=["events"])
        if unanswered:
            alert_staff_about_call(call_id=call.pk)
    return unanswered


def _add_event(call: Call, at: datetime, event: str, detail: str) -> None:
    """Append an event for staff, once: Twilio retries must not repeat it."""
    if any(e.get("event") == event and e.get("detail") == detail for e in call.events):
        return
    call.events = [*call.events, {"at": at.isoformat(), "event": event, "detail": detail}]
