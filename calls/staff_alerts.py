"""What a finished call tells the staff (bookings.notifications): a message left, a caller
who asked for a person nobody could put them through to, and the LLM receptionist falling
back to the embedded one call after call. Each goes out once: keyed by the call, or by the
business and the day for the fallbacks."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bookings.notifications import Alert, notify_staff
from calls.models import Call

logger = logging.getLogger(__name__)

PERSON_UNREACHABLE = "person_unreachable"  # engine event: asked for a person, none to reach
LLM_FALLBACK = "llm_fallback"  # engine event (calls.dialogue.llm.engine)
ALERTING_EVENTS = frozenset({PERSON_UNREACHABLE, LLM_FALLBACK})
FALLBACK_WINDOW = timedelta(hours=24)


def call_needs_staff(*, message: str, events: Iterable[tuple[str, str]]) -> bool:
    """Cheap, in memory: whether alert_staff_about_call has anything to do."""
    return bool(message) or any(event in ALERTING_EVENTS for event, _ in events)


def alert_staff_about_call(*, call_id: int) -> None:
    """Queue the notices a finished call calls for (none for nearly every call)."""
    call = Call.objects.select_related("business").filter(pk=call_id).first()
    if call is None:
        return
    names = {event.get("event") for event in call.events}
    page = reverse("admin:calls_call_change", args=[call.pk])
    who = call.from_number or "a withheld number"
    if call.message:
        asked = " They asked for a person, and nobody could be put through." * (
            PERSON_UNREACHABLE in names
        )
        notify_staff(
            business=call.business,
            alert=Alert.MESSAGE,
            key=f"call:{call.sid}",
            subject=f"Message from {who}",
            body=f"A caller left a message.{asked}\n\n{call.message}",
            admin_path=page,
        )
    elif PERSON_UNREACHABLE in names:
        why = next(e.get("detail", "") for e in call.events if e.get("event") == PERSON_UNREACHABLE)
        notify_staff(
            business=call.business,
            alert=Alert.PERSON_UNREACHABLE,
            key=f"call:{call.sid}",
            subject=f"{who} asked for a person",
            body=(
                f"A caller ({who}) asked to speak to a person and nobody could be put "
                f"through ({why.rstrip('.')}). They left no message: call them back."
            ),
            admin_path=page,
        )
    if LLM_FALLBACK in names:
        alert_if_llm_keeps_falling_back(call)


def alert_if_llm_keeps_falling_back(call: Call) -> None:
    """The LLM receptionist fell back on this call: tell staff once a day when it has done
    so on LLM_FALLBACK_ALERT_CALLS of the business's calls within a day."""
    threshold = settings.LLM_FALLBACK_ALERT_CALLS
    since = timezone.now() - FALLBACK_WINDOW
    recent = Call.objects.filter(business=call.business, started_at__gte=since).values_list(
        "events", flat=True
    )
    fell_back = sum(
        1 for events in recent.iterator() if any(e.get("event") == LLM_FALLBACK for e in events)
    )
    if fell_back < threshold:
        return
    reasons = [e.get("detail", "") for e in call.events if e.get("event") == LLM_FALLBACK]
    business = call.business
    notify_staff(
        business=business,
        alert=Alert.LLM_FALLBACK,
        key=f"business:{business.pk}:{business.local_today().isoformat()}",
        subject="The LLM receptionist keeps falling back",
        body=(
            f"The LLM receptionist failed and the embedded one took over on {fell_back} calls "
            f"in the last 24 hours (latest: {'; '.join(reasons) or 'no reason given'}). "
            "Check the LLM server settings (LLM_BASE_URL, LLM_API_KEY, LLM_MODEL), or switch "
            "the business's dialogue engine to the embedded receptionist."
        ),
        admin_path=reverse("admin:bookings_business_change", args=[business.pk]),
    )
