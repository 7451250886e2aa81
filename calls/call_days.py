"""The dashboard's daily rollup: each business's calls counted per day of its own calendar
(calls.models.CallDay), with that day's first-token latency histogram (CallDayLatency).

A day is always recounted from the calls themselves (`refresh_day`), never incremented, and
only once it is over (the dashboard counts today live from the calls), so a row is right
whenever it was last counted:
- a past day the dashboard needs and finds no row for is counted then (`fill_missing`);
- a call that ends after its day is over (it ran past midnight) recounts that day once its
  ending commits (`recount_after_commit`); a call ending on its own day costs one read, so
  the call loop never waits on a recount or its row lock;
- `manage.py rebuild_call_days` recounts every past day (after a business's time zone
  changes, or to repair anything).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import partial

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from bookings.models import Business
from calls.models import Call, CallDay, CallDayLatency, CallTurn

logger = logging.getLogger(__name__)

# The call loop records an LLM engine fallback as this event (calls.dialogue.llm.engine).
LLM_FALLBACK_EVENT = '"llm_fallback"'
Outcome = Call.Outcome
# CallDay's counter for each settled outcome.
OUTCOME_COUNTERS = {
    "booked": Outcome.BOOKED,
    "moved": Outcome.MOVED,
    "cancelled": Outcome.CANCELLED,
    "messages": Outcome.MESSAGE_TAKEN,
    "transfers": Outcome.TRANSFERRED,
    "answered": Outcome.ANSWERED,
    "declined": Outcome.DECLINED,
    "abandoned": Outcome.ABANDONED,
    "failed": Outcome.FAILED,
}
COUNTERS = ("calls", *OUTCOME_COUNTERS, "llm_fallbacks")


def bounds(business: Business, first: date, last: date) -> tuple[datetime, datetime]:
    """Local midnight before `first` to local midnight after `last`, as instants (a DST day
    has its real length)."""
    tz = business.tz
    return (
        datetime.combine(first, time(0), tzinfo=tz),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz),
    )


def calls_between(business: Business, start: datetime, end: datetime):
    return Call.objects.filter(business=business, started_at__gte=start, started_at__lt=end)


def raw_counts(business: Business, start: datetime, end: datetime) -> dict[str, int]:
    """The counters of the calls that started in [start, end), counted by the database."""
    totals = calls_between(business, start, end).aggregate(
        calls=Count("pk"),
        llm_fallbacks=Count("pk", filter=Q(events__icontains=LLM_FALLBACK_EVENT)),
        **{name: Count("pk", filter=Q(outcome=value)) for name, value in OUTCOME_COUNTERS.items()},
    )
    return {name: totals[name] or 0 for name in COUNTERS}


def raw_latencies(business: Business, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """(first-token ms, turns) of the receptionist's timed turns on those calls, by ms."""
    return list(
        CallTurn.objects.filter(
            call__in=calls_between(business, start, end),
            speaker=CallTurn.Speaker.RECEPTIONIST,
            first_token_ms__isnull=False,
        )
        .values_list("first_token_ms")
        .annotate(n=Count("pk"))
        .order_by("first_token_ms")
    )


def refresh_day(business: Business, day: date) -> CallDay:
    """Recount one day. The row is locked before the calls are read, so of two recounts
    racing, the one that writes last also read last."""
    now = timezone.now()
    with transaction.atomic():
        row, _ = CallDay.objects.select_for_update().get_or_create(
            business=business, day=day, defaults={"counted_at": now}
        )
        start, end = bounds(business, day, day)
        for name, value in raw_counts(business, start, end).items():
            setattr(row, name, value)
        row.counted_at = now
        row.save()
        row.latencies.all().delete()
        CallDayLatency.objects.bulk_create(
            CallDayLatency(call_day=row, first_token_ms=ms, turns=n)
            for ms, n in raw_latencies(business, start, end)
        )
    return row


def refresh_for_call(
    call_id: int, *, business: Business | None = None, started_at: datetime | None = None
) -> None:
    """Recount the call's day if that day is already over (today is counted live). The
    call's `business` and `started_at`, when given, spare reading its row."""
    if business is None or started_at is None:
        call = (
            Call.objects.select_related("business").only("started_at", "business").get(pk=call_id)
        )
        business, started_at = call.business, call.started_at
    day = started_at.astimezone(business.tz).date()
    if day < business.local_today():
        refresh_day(business, day)


def recount_after_commit(
    call_id: int, *, business: Business | None = None, started_at: datetime | None = None
) -> None:
    """The call's day is recounted, if it is over, once its ending commits; a failure there
    is logged (the call's own record is safe, and the next recount or a rebuild catches up)."""
    refresh = partial(refresh_for_call, call_id, business=business, started_at=started_at)
    transaction.on_commit(refresh, robust=True)


def fill_missing(business: Business, first: date, last: date) -> int:
    """Count the days in [first, last] that have no row yet; how many there were."""
    have = set(
        CallDay.objects.filter(business=business, day__range=(first, last)).values_list(
            "day", flat=True
        )
    )
    missing = [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if first + timedelta(days=n) not in have
    ]
    for day in missing:
        refresh_day(business, day)
    return len(missing)


def rebuild(businesses=None) -> int:
    """Recount every past day from each business's first call; days recounted. Today has no
    row until it is over: a row counted now would miss the rest of today's calls."""
    counted = 0
    for business in businesses if businesses is not None else Business.objects.all():
        first_call = (
            Call.objects.filter(business=business).order_by("started_at").only("started_at").first()
        )
        today = business.local_today()
        CallDay.objects.filter(business=business, day__gte=today).delete()
        if first_call is None:
            CallDay.objects.filter(business=business).delete()
            continue
        first = first_call.started_at.astimezone(business.tz).date()
        CallDay.objects.filter(business=business, day__lt=first).delete()
        for n in range((today - first).days):
            refresh_day(business, first + timedelta(days=n))
            counted += 1
    return counted
