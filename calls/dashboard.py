"""How the phone is doing, per business and period, in a handful of queries whatever the number
of calls: past days are read from the daily rollup (calls.call_days: a row and a latency
histogram per day), today is counted live by the database, and no call row is loaded into
Python."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Sum

from bookings.models import Booking, Business, OutboxTask
from bookings.tasks import PROVIDER_AFTER_BOOKING, PROVIDER_AFTER_CANCEL
from calls import call_days
from calls.call_days import COUNTERS, bounds
from calls.models import CallDay, CallDayLatency


@dataclass
class DayCount:
    day: date
    calls: int
    booked: int


@dataclass
class Dashboard:
    business: Business
    first: date
    last: date
    calls: int = 0
    booked: int = 0
    moved: int = 0
    cancelled: int = 0
    messages: int = 0
    transfers: int = 0
    answered: int = 0
    declined: int = 0
    abandoned: int = 0
    failed: int = 0
    llm_fallbacks: int = 0
    calendar_problems: int = 0
    latency_turns: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    per_day: list[DayCount] = field(default_factory=list)

    @property
    def booked_share(self) -> float | None:
        return self.booked / self.calls if self.calls else None

    @property
    def outcomes(self) -> list[tuple[str, int]]:
        return [
            ("Booked", self.booked),
            ("Moved", self.moved),
            ("Cancelled", self.cancelled),
            ("Message taken", self.messages),
            ("Transferred", self.transfers),
            ("Questions answered", self.answered),
            ("Declined at read-back", self.declined),
            ("Hung up early", self.abandoned),
            ("Failed", self.failed),
        ]


def build(business: Business, first: date, last: date) -> Dashboard:
    dashboard = Dashboard(business=business, first=first, last=last)
    today = business.local_today()
    counted: dict[date, dict[str, int]] = {}
    latencies: Counter[int] = Counter()

    # Past days from the rollup (any day it lacks is counted first, once).
    past_last = min(last, today - timedelta(days=1))
    if first <= past_last:
        call_days.fill_missing(business, first, past_last)
        for row in CallDay.objects.filter(business=business, day__range=(first, past_last)):
            counted[row.day] = {name: getattr(row, name) for name in COUNTERS}
        latencies.update(
            dict(
                CallDayLatency.objects.filter(
                    call_day__business=business, call_day__day__range=(first, past_last)
                )
                .values_list("first_token_ms")
                .annotate(n=Sum("turns"))
                .order_by()
            )
        )
    # Today, live.
    if first <= today <= last:
        start, end = bounds(business, today, today)
        counted[today] = call_days.raw_counts(business, start, end)
        latencies.update(dict(call_days.raw_latencies(business, start, end)))

    for name in COUNTERS:
        setattr(dashboard, name, sum(day[name] for day in counted.values()))
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        figures = counted.get(day, {})
        dashboard.per_day.append(
            DayCount(day=day, calls=figures.get("calls", 0), booked=figures.get("booked", 0))
        )

    # Calendar problems: bookings made in the period whose provider follow-up (writing or
    # deleting the calendar event) failed for good in the outbox. Such tasks are few: their
    # bookings are looked up by id (a JSON lookup per booking made would cost more).
    start, end = bounds(business, first, last)
    failed = OutboxTask.objects.filter(
        kind__in=[PROVIDER_AFTER_BOOKING, PROVIDER_AFTER_CANCEL],
        status=OutboxTask.Status.FAILED,
        created_at__gte=start,
    ).values_list("payload__booking_id", flat=True)
    dashboard.calendar_problems = Booking.objects.filter(
        business=business,
        created_at__gte=start,
        created_at__lt=end,
        pk__in={booking_id for booking_id in failed if isinstance(booking_id, int)},
    ).count()
    dashboard.latency_turns, dashboard.p50_ms, dashboard.p95_ms = percentiles(latencies)
    return dashboard


def percentiles(histogram: Counter[int]) -> tuple[int, int | None, int | None]:
    """(turns measured, p50, p95) of first-token latency in ms, by nearest rank, read off
    the histogram (a few hundred distinct values, however many turns)."""
    n = sum(histogram.values())
    if not n:
        return 0, None, None
    ordered = sorted(histogram.items())

    def rank(q: float) -> int:
        wanted, seen = max(1, math.ceil(q * n)), 0
        for value, count in ordered:
            seen += count
            if seen >= wanted:
                return value
        return ordered[-1][0]

    return n, rank(0.5), rank(0.95)
