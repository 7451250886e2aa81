"""How the phone is doing, per business and period: a handful of aggregate queries, whatever
the number of calls (counts, per-day counts and latency percentiles are computed by the
database; no call row is loaded into Python)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Aggregate, Case, Count, FloatField, IntegerField, Q, Value, When

from bookings.models import Booking, Business, OutboxTask
from bookings.tasks import PROVIDER_AFTER_BOOKING, PROVIDER_AFTER_CANCEL
from calls.models import Call, CallTurn

# The call loop records an LLM engine fallback as this event (calls.dialogue.llm.engine).
LLM_FALLBACK_EVENT = '"llm_fallback"'
Outcome = Call.Outcome


class PercentileDisc(Aggregate):
    """Postgres's percentile_disc(fraction) WITHIN GROUP (ORDER BY expression): the nearest
    rank, the same figure the SQLite path reads."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


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
            ("Hung up early", self.abandoned),
            ("Failed", self.failed),
        ]


def bounds(business: Business, first: date, last: date) -> tuple[datetime, datetime]:
    """Local midnight before `first` to local midnight after `last`, as instants."""
    tz = business.tz
    return (
        datetime.combine(first, time(0), tzinfo=tz),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz),
    )


def build(business: Business, first: date, last: date) -> Dashboard:
    start, end = bounds(business, first, last)
    calls = Call.objects.filter(business=business, started_at__gte=start, started_at__lt=end)
    dashboard = Dashboard(business=business, first=first, last=last)

    def outcome(value: str) -> Count:
        return Count("pk", filter=Q(outcome=value))

    totals = calls.aggregate(
        calls=Count("pk"),
        booked=outcome(Outcome.BOOKED),
        moved=outcome(Outcome.MOVED),
        cancelled=outcome(Outcome.CANCELLED),
        messages=outcome(Outcome.MESSAGE_TAKEN),
        transfers=outcome(Outcome.TRANSFERRED),
        abandoned=outcome(Outcome.ABANDONED),
        failed=outcome(Outcome.FAILED),
        llm_fallbacks=Count("pk", filter=Q(events__icontains=LLM_FALLBACK_EVENT)),
    )
    for name, value in totals.items():
        setattr(dashboard, name, value or 0)

    # Which local day each call falls in, by comparing with the days' midnights (computed
    # here, each with its own UTC offset, so DST days have their real length): plain
    # comparisons the database can do fast, no time-zone function per row.
    days = (last - first).days + 1
    midnights = [bounds(business, first + timedelta(days=n), first)[0] for n in range(1, days)]
    day_index = Case(
        *(When(started_at__lt=midnight, then=Value(n)) for n, midnight in enumerate(midnights)),
        default=Value(days - 1),
        output_field=IntegerField(),
    )
    counted = {
        row["day"]: row
        for row in calls.annotate(day=day_index)
        .values("day")
        .annotate(n=Count("pk"), booked=outcome(Outcome.BOOKED))
        .order_by("day")
    }
    for n in range(days):
        row = counted.get(n)
        dashboard.per_day.append(
            DayCount(
                day=first + timedelta(days=n),
                calls=row["n"] if row else 0,
                booked=row["booked"] if row else 0,
            )
        )

    # Calendar problems: bookings made in the period whose provider follow-up (writing or
    # deleting the calendar event) failed for good in the outbox.
    made = Booking.objects.filter(business=business, created_at__gte=start, created_at__lt=end)
    dashboard.calendar_problems = (
        OutboxTask.objects.filter(
            kind__in=[PROVIDER_AFTER_BOOKING, PROVIDER_AFTER_CANCEL],
            status=OutboxTask.Status.FAILED,
            created_at__gte=start,
            payload__booking_id__in=list(made.values_list("pk", flat=True)),
        )
        .values("payload__booking_id")
        .distinct()
        .count()
    )

    turns = CallTurn.objects.filter(
        call__business=business,
        call__started_at__gte=start,
        call__started_at__lt=end,
        speaker=CallTurn.Speaker.RECEPTIONIST,
        first_token_ms__isnull=False,
    )
    dashboard.latency_turns, dashboard.p50_ms, dashboard.p95_ms = _latency(turns)
    return dashboard


def _latency(turns) -> tuple[int, int | None, int | None]:
    """(turns measured, p50, p95) of first-token latency in ms."""
    if connection.vendor == "postgresql":
        row = turns.aggregate(
            n=Count("pk"),
            p50=PercentileDisc("first_token_ms", 0.5),
            p95=PercentileDisc("first_token_ms", 0.95),
        )
        if not row["n"]:
            return 0, None, None
        return row["n"], round(row["p50"]), round(row["p95"])
    # SQLite has no percentile function: the database counts each distinct latency (a few
    # hundred rows however many turns) and the ranks are read off that histogram.
    histogram = list(
        turns.values_list("first_token_ms").annotate(n=Count("pk")).order_by("first_token_ms")
    )
    n = sum(count for _, count in histogram)
    if not n:
        return 0, None, None

    def rank(q: float) -> int:
        wanted, seen = max(1, math.ceil(q * n)), 0
        for value, count in histogram:
            seen += count
            if seen >= wanted:
                return value
        return histogram[-1][0]

    return n, rank(0.5), rank(0.95)
