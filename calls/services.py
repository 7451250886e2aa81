"""Writes to a Call: the call arriving (Twilio's voice webhook), its events, and how it
ended, reported by the conversation (calls/session.py) and by Twilio's session-ended
request, whichever comes first. `settled_outcome` is the one rule for the outcome.

The transcript's turns are written by calls/transcript.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.models import Business
from bookings.orm import insert_or_get
from bookings.phones import to_e164
from calls.call_days import recount_after_commit
from calls.dialogue import registry
from calls.dialogue.base import DialogueEngine
from calls.models import Call, ReceptionistSettings
from calls.staff_alerts import PERSON_UNREACHABLE, alert_staff_about_call

logger = logging.getLogger(__name__)

# Handoff reasons after which the caller is put through to a person (see Ending.reason).
TRANSFER_REASONS = frozenset({"transfer", "limit"})
# Outcomes that say nothing yet about how the call went: the session closing its socket
# records "abandoned" when no engine outcome was reached, possibly before Twilio's
# session-ended request arrives with the real story.
UNSETTLED = frozenset({Call.Outcome.IN_PROGRESS, Call.Outcome.ABANDONED})
# What a conversation that changed nothing came to (questions answered, a read-back declined):
# it settles a call that would otherwise be "abandoned", but a caller then put through, or a
# session Twilio reports failed, is the call's story.
SOFT = frozenset({Call.Outcome.ANSWERED, Call.Outcome.DECLINED})


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
    found: bool  # False: no such call for this business
    transfer_to: str = ""  # the business's own transfer number, when the caller goes there
    caller_id: str = ""  # the business's number, shown to whoever the caller is put through to


def record_incoming_call(
    *, business: Business, call_sid: str, from_number: str, to_number: str, engine: str = ""
) -> Call:
    """The Call for a ringing phone call, with the dialogue engine that will answer it.
    Idempotent on the CallSid: Twilio retries webhooks, and a retry (even a concurrent one)
    finds the row the first attempt made."""
    call, created = insert_or_get(
        Call(
            sid=call_sid,
            business=business,
            channel=Call.Channel.PHONE,
            from_number=from_number,
            to_number=to_number,
            engine=engine,
        ),
        sid=call_sid,
    )
    if not created:
        logger.info("Twilio retried the incoming webhook for call %s", call_sid)
    return call


def engine_for(business: Business, key: str | None = None) -> type[DialogueEngine]:
    """The engine that answers the business's calls: `key` when given (e.g. the simulator's
    choice), else the business's choice in admin, else CALL_DIALOGUE_ENGINE, else the
    default. Reads `business.receptionist_settings` (select_related it)."""
    if not key:
        try:
            key = business.receptionist_settings.engine
        except ReceptionistSettings.DoesNotExist:
            key = settings.CALL_DIALOGUE_ENGINE
    return registry.engine_class(key)


@dataclass(frozen=True)
class RelayClaim:
    """A call whose ConversationRelay socket this process holds, and who Twilio said is on
    the line: the signed webhook's From and To, never the socket's unsigned `setup`."""

    call_id: int
    connected_at: datetime
    from_number: str
    to_number: str
    engine: str = ""  # the dialogue engine the webhook chose for the call
    started_at: datetime | None = None  # when the webhook recorded the call


def claim_relay_socket(
    *, business_slug: str, call_sid: str, now: datetime | None = None
) -> RelayClaim | None:
    """Claim a phone call for one ConversationRelay socket, or None when it may not have one.

    Only a call that Twilio's signed webhook recorded recently, that has not ended and that no
    socket has claimed before: the handshake's signature covers nothing but the URL and never
    expires, so a captured one must not reopen a finished call or run a second conversation
    beside the real one. One conditional UPDATE decides, so of any number of processes racing
    for the call exactly one wins; it also returns the row's numbers and engine (RETURNING,
    which the ORM's update() cannot ask for: Postgres and SQLite 3.35+ both have it), so a
    claimed socket costs one statement. Only a refusal reads the row again, to log why.
    """
    now = now or timezone.now()
    recorded_since = now - timedelta(seconds=settings.CALL_SOCKET_WINDOW_SECONDS)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE calls_call SET relay_connected_at = %s "
            "WHERE sid = %s AND business_id IN "
            "(SELECT id FROM bookings_business WHERE slug = %s) "
            "AND channel = %s AND started_at >= %s "
            "AND ended_at IS NULL AND relay_connected_at IS NULL "
            "RETURNING id, from_number, to_number, engine, started_at",
            [adapt(now), call_sid, business_slug, Call.Channel.PHONE, adapt(recorded_since)],
        )
        row = cursor.fetchone()
    if row is None:
        _log_refused_claim(business_slug, call_sid, recorded_since)
        return None
    call_id, from_number, to_number, engine, started_at = row
    return RelayClaim(
        call_id=call_id,
        connected_at=now,
        from_number=from_number,
        to_number=to_number,
        engine=engine,
        started_at=_aware(started_at),
    )


def _aware(value: datetime | str) -> datetime:
    """A datetime column as a raw cursor gives it back: SQLite's is UTC text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def _log_refused_claim(business_slug: str, call_sid: str, recorded_since: datetime) -> None:
    call = (
        Call.objects.filter(sid=call_sid, business__slug=business_slug)
        .only("pk", "channel", "started_at", "ended_at", "relay_connected_at")
        .first()
    )
    if call is None:
        logger.warning("Refused a ConversationRelay socket for unknown call %s", call_sid)
        return
    logger.warning(
        "Refused a ConversationRelay socket for call %s: %s",
        call_sid,
        _why_unclaimable(call, recorded_since),
    )


def _why_unclaimable(call: Call, recorded_since: datetime) -> str:
    if call.channel != Call.Channel.PHONE:
        return "not a phone call"
    if call.ended_at is not None:
        return "the call has ended"
    if call.relay_connected_at is not None:
        return "another socket has it"
    if call.started_at < recorded_since:
        return "its webhook is too old"
    return "it changed meanwhile"


def release_relay_socket(claim: RelayClaim) -> None:
    """Give back a claim whose socket closed before the conversation began (no `setup`):
    nothing happened on it, so Twilio may still connect. Once a conversation started, its
    end settles the call instead, and the call never takes another socket."""
    Call.objects.filter(
        pk=claim.call_id, relay_connected_at=claim.connected_at, ended_at__isnull=True
    ).update(relay_connected_at=None)


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

    Settles the outcome when the conversation did not (settled_outcome): transferred when
    the caller is put through, failed when Twilio reports a failed session, abandoned
    otherwise. A retried request changes nothing further.
    """
    now = now or timezone.now()
    if not (end.handoff or {}).get("transferTo") and not end.handoff_problem and not end.failed:
        # The usual end of a call whose conversation settled it (e.g. booked): nothing here
        # changes its outcome, events or its day's counts, so one UPDATE does.
        # The business by a subquery, not a join: an UPDATE over a join is compiled as
        # one over a subquery of the joined rows, at twice the cost.
        business = Business.objects.filter(slug=business_slug).values("pk")
        settled = (
            Call.objects.filter(sid=end.call_sid, business_id__in=business)
            .exclude(outcome__in=UNSETTLED)
            .update(
                session_status=end.status[:32],
                ended_at=Coalesce(F("ended_at"), Value(now, output_field=DateTimeField())),
            )
        )
        if settled:
            return ClosedCall(found=True)
    call = (
        Call.objects.select_for_update()
        .select_related("business")
        .filter(sid=end.call_sid, business__slug=business_slug)
        .first()
    )
    if call is None:
        logger.warning("Session ended for unknown call %s (%s)", end.call_sid, business_slug)
        return ClosedCall(found=False)

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

    call.outcome = settled_outcome(call.outcome, transferred=bool(transfer_to), failed=end.failed)
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
    recount_after_commit(call.pk)
    return ClosedCall(found=True, transfer_to=transfer_to, caller_id=call.business.phone_number)


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


# -- How a call ended ---------------------------------------------------------------------


def settled_outcome(
    current: str | F,
    *,
    achieved: str = Call.Outcome.IN_PROGRESS,
    transferred: bool = False,
    failed: bool = False,
) -> str | Case:
    """The one rule for a call's outcome, whichever report of its end comes first.

    What the conversation `achieved` (booked, moved, a message taken...) wins. Otherwise an
    unsettled call (in progress, or abandoned by a closing socket) becomes transferred when
    the caller was put through, failed when Twilio reported a failed session, and otherwise
    what a conversation that changed nothing came to (answered, declined: SOFT) or abandoned;
    a settled one keeps its outcome, except that a SOFT one gives way to transferred or
    failed. `current` is the row's outcome as read under
    a lock, or F("outcome") for an UPDATE that decides on the row as it is (an expression).
    """
    if achieved != Call.Outcome.IN_PROGRESS and achieved not in SOFT:
        return achieved
    replaceable = UNSETTLED
    if transferred or failed:
        replaceable = UNSETTLED | SOFT
        otherwise = Call.Outcome.TRANSFERRED if transferred else Call.Outcome.FAILED
    elif achieved in SOFT:
        otherwise = achieved
    else:
        otherwise = Call.Outcome.ABANDONED
    if isinstance(current, F):
        return Case(When(outcome__in=replaceable, then=Value(otherwise)), default=current)
    return otherwise if current in replaceable else current


@transaction.atomic
def record_conversation_end(
    *,
    call_id: int,
    achieved: str,
    booking_id: int | None,
    message: str,
    handoff_to: str,
    events: list[tuple[str, str]],
    now: datetime | None = None,
    business: Business | None = None,
    started_at: datetime | None = None,
) -> None:
    """The conversation is over (ended, or its socket closed): its outcome (settled_outcome),
    what it booked, the message it took, where the caller is put through, and the engine's
    events not recorded yet. One UPDATE on the row as it is, so Twilio's session-ended
    request may have come first (then an unsettled call keeps what that request decided).
    `business` and `started_at`: the call's, when the caller knows them (its day's count
    then needs no read of the row)."""
    now = now or timezone.now()
    if events:
        append_call_events(call_id, events)
    fields: dict = {
        "outcome": settled_outcome(F("outcome"), achieved=achieved),
        "ended_at": Coalesce(F("ended_at"), Value(now, output_field=DateTimeField())),
    }
    if booking_id is not None:
        fields["booking_id"] = booking_id
    if message:
        fields["message"] = message
    if handoff_to:
        fields["handoff_to"] = handoff_to
    if not Call.objects.filter(pk=call_id).update(**fields):
        raise Call.DoesNotExist(f"Call {call_id} no longer exists.")
    recount_after_commit(call_id, business=business, started_at=started_at)


@transaction.atomic
def append_call_events(call_id: int, events: list[tuple[str, str]]) -> None:
    """Events for staff (a fallback, a limit reached, a transport error), in order."""
    at = timezone.now().isoformat()
    call = Call.objects.select_for_update().get(pk=call_id)
    call.events = [*call.events, *({"at": at, "event": e, "detail": d} for e, d in events)]
    call.save(update_fields=["events"])
