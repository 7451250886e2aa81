"""The dashboard: per business and period, counted by the database in the business's zone
(past days through the daily rollup, which must always equal counting the calls themselves;
today live); first-token latency p50/p95; SVG charts with their numbers beside them; a fixed
number of queries however many calls there are."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, OutboxTask
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from calls.call_days import COUNTERS, bounds, raw_counts, raw_latencies, rebuild, refresh_for_call
from calls.dashboard import build, percentiles
from calls.models import Call, CallDay, CallTurn

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 10)  # a Tuesday


@pytest.fixture
def salon():
    return BusinessFactory(name="Maple Salon", timezone="America/New_York")


def call(salon, when: datetime, outcome: str = "booked", *, events=(), latencies=(), ends=True):
    """A call at `when`; when it `ends`, its day is recounted, as calls.services does once a
    call's ending commits."""
    row = Call.objects.create(
        sid=f"CA{Call.objects.count():032d}", business=salon, outcome=outcome, events=list(events)
    )
    Call.objects.filter(pk=row.pk).update(started_at=when)
    CallTurn.objects.bulk_create(
        CallTurn(call=row, speaker="receptionist", text="...", at=when, first_token_ms=ms)
        for ms in latencies
    )
    if ends:
        refresh_for_call(row.pk)
    return row


def at(salon, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=salon.tz)


def test_counts_by_outcome_share_fallbacks_and_calendar_problems(salon):
    for outcome in (
        ["booked"] * 3
        + ["moved", "cancelled", "message_taken", "transferred"]
        + [
            "answered",
            "answered",
            "declined",
        ]
    ):
        call(salon, at(salon, DAY, 10), outcome)
    call(salon, at(salon, DAY, 11), "abandoned",
         events=[{"at": "x", "event": "llm_fallback", "detail": "timeout"}])  # fmt: skip
    service = ServiceFactory(business=salon)
    failed = BookingFactory(service=service, start=at(salon, DAY, 15))
    synced = BookingFactory(service=service, start=at(salon, DAY, 16))
    older = BookingFactory(service=service, start=at(salon, DAY, 17))
    for booking, status in ((failed, "failed"), (synced, "done"), (older, "failed")):
        OutboxTask.objects.create(
            kind="provider.after_booking", payload={"booking_id": booking.pk},
            dedupe_key=f"k{booking.pk}", status=status,
        )  # fmt: skip
    OutboxTask.objects.update(created_at=at(salon, DAY, 12))
    # Made (and failed) on the day except the last, made the week before.
    Booking.objects.update(created_at=at(salon, DAY, 12))
    Booking.objects.filter(start=at(salon, DAY, 17)).update(
        created_at=at(salon, DAY, 12) - timedelta(days=7)
    )

    d = build(salon, DAY, DAY)

    assert (d.calls, d.booked, d.moved, d.cancelled) == (11, 3, 1, 1)
    assert (d.messages, d.transfers, d.abandoned) == (1, 1, 1)
    assert (d.answered, d.declined) == (2, 1)
    assert ("Questions answered", 2) in d.outcomes and ("Declined at read-back", 1) in d.outcomes
    assert d.booked_share == 3 / 11
    assert d.llm_fallbacks == 1
    assert d.calendar_problems == 1


def test_the_period_is_whole_days_in_the_business_zone(salon):
    call(salon, at(salon, DAY, 0, 5))  # just after local midnight: in
    call(salon, at(salon, DAY, 23, 55))  # just before the next: in
    call(salon, at(salon, DAY + timedelta(days=1), 0, 5))  # 05:05 UTC the same "UTC day": out
    call(salon, at(salon, DAY, 0, 5) - timedelta(minutes=10))  # the evening before: out
    d = build(salon, DAY, DAY)
    assert d.calls == 2
    assert [(x.day, x.calls) for x in d.per_day] == [(DAY, 2)]


def test_per_day_counts_across_the_end_of_dst(salon):
    first, last = date(2026, 10, 31), date(2026, 11, 2)  # DST ends on Sunday 1 November
    for day in (first, date(2026, 11, 1), last):
        call(salon, at(salon, day, 0, 30))
        call(salon, at(salon, day, 23, 30), "message_taken")
    d = build(salon, first, last)
    assert [(x.day, x.calls, x.booked) for x in d.per_day] == [
        (first, 2, 1),
        (date(2026, 11, 1), 2, 1),
        (last, 2, 1),
    ]


def test_first_token_latency_percentiles(salon):
    call(salon, at(salon, DAY, 9), latencies=range(1, 51))
    call(salon, at(salon, DAY, 10), latencies=range(51, 101))
    call(salon, at(salon, DAY - timedelta(days=3), 10), latencies=[99999])  # outside
    d = build(salon, DAY, DAY)
    assert (d.latency_turns, d.p50_ms, d.p95_ms) == (100, 50, 95)


def test_no_calls_reads_as_nothing_not_an_error(salon, admin_client):
    d = build(salon, DAY, DAY)
    assert (d.calls, d.booked_share, d.p50_ms) == (0, None, None)
    url = reverse("admin:calls_call_dashboard", args=[salon.pk])
    assert admin_client.get(url).status_code == 200


def dashboard_html(client, salon, **params) -> str:
    response = client.get(reverse("admin:calls_call_dashboard", args=[salon.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_page_draws_svg_charts_with_their_numbers(admin_client, salon):
    call(salon, at(salon, DAY, 10), latencies=[120, 340])
    call(salon, at(salon, DAY, 11), "transferred")
    html = dashboard_html(admin_client, salon, **{"from": "2026-11-04", "to": "2026-11-10"})
    assert html.count("<svg") >= 3  # admin's own icons aside, ours are inline
    assert '<svg viewBox="0 0 600 160" role="img" aria-label="Calls per day' in html
    assert "<title>Tue 10 Nov: 2 calls, 1 booked</title>" in html
    assert '<span class="figure" id="figure-calls">2</span>' in html
    assert '<span class="figure" id="figure-share">50%</span>' in html
    assert "<td>Transferred</td><td>1</td>" in html
    assert "<td>Tue 10 Nov</td><td>2</td><td>1</td>" in html
    assert "Wed 4 Nov 2026 to Tue 10 Nov 2026" in html
    assert "cdn" not in html.lower() and "<script" not in html.split("</header>")[-1]


def test_query_count_does_not_grow_with_calls(admin_client, salon, django_assert_max_num_queries):
    call(salon, at(salon, DAY, 10), latencies=[100])
    params = {"from": "2026-11-01", "to": "2026-11-10"}
    dashboard_html(admin_client, salon, **params)  # the first look counts the days once
    with django_assert_max_num_queries(14) as few:
        dashboard_html(admin_client, salon, **params)
    for hour in range(8, 20):
        call(salon, at(salon, DAY, hour), latencies=[100, 200, 300])
    with django_assert_max_num_queries(len(few.captured_queries)):
        dashboard_html(admin_client, salon, **params)


def test_periods_and_links(admin_client, salon):
    html = dashboard_html(admin_client, salon, period="7")
    assert 'aria-current="page">Last 7 days' in html
    assert reverse("admin:bookings_business_schedule", args=[salon.pk]) in html
    index = admin_client.get("/admin/").content.decode()
    chooser = reverse("admin:calls_call_choose_dashboard")
    assert f'href="{chooser}"' in index
    response = admin_client.get(chooser)
    assert response.url == reverse("admin:calls_call_dashboard", args=[salon.pk])
    page = admin_client.get(reverse("admin:bookings_business_change", args=[salon.pk]))
    assert reverse("admin:calls_call_dashboard", args=[salon.pk]) in page.content.decode()


def test_dashboard_needs_call_and_business_view_permissions(salon):
    user = User.objects.create_user("temp", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    url = reverse("admin:calls_call_dashboard", args=[salon.pk])
    user.user_permissions.add(Permission.objects.get(codename="view_business"))
    assert client.get(url).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    user = User.objects.get(pk=user.pk)
    client.force_login(user)
    assert client.get(url).status_code == 200
    assert client.get(reverse("admin:calls_call_dashboard", args=["999"])).status_code == 404


def counted_from_the_calls(salon, first: date, last: date) -> dict:
    """The dashboard's figures counted straight from the calls, no rollup."""
    start, end = bounds(salon, first, last)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    per_day = []
    for day in days:
        figures = raw_counts(salon, *bounds(salon, day, day))
        per_day.append((day, figures["calls"], figures["booked"]))
    histogram = dict(raw_latencies(salon, start, end))
    return {**raw_counts(salon, start, end), "per_day": per_day, "latency": percentiles(histogram)}


def dashboard_figures(d) -> dict:
    return {
        **{name: getattr(d, name) for name in COUNTERS},
        "per_day": [(x.day, x.calls, x.booked) for x in d.per_day],
        "latency": (d.latency_turns, d.p50_ms, d.p95_ms),
    }


def test_the_rollup_equals_counting_the_calls(salon):
    """Calls over five weeks across the end of DST, every outcome, fallbacks and latencies;
    some end after their day was first counted, one is still in progress. The rollup gives
    the same figures as counting the calls, and so does rebuilding it."""
    rng = random.Random(13)
    first, last = date(2026, 10, 20), date(2026, 11, 24)
    outcomes = ["booked", "moved", "cancelled", "message_taken", "transferred", "abandoned"]
    outcomes += ["answered", "declined"]
    for n in range(160):
        day = first + timedelta(days=rng.randrange((last - first).days + 1))
        when = at(salon, day, rng.randrange(24), rng.randrange(60))
        fallback = [{"at": "x", "event": "llm_fallback", "detail": "timeout"}]
        call(
            salon,
            when,
            rng.choice([*outcomes, "failed"]),
            events=fallback if n % 9 == 0 else (),
            latencies=[rng.randrange(80, 2500) for _ in range(rng.randrange(4))],
        )
        if n == 80:
            build(salon, first, last)  # the days so far are counted; later calls still land
    call(salon, at(salon, date(2026, 11, 1), 1, 30), "in_progress", ends=False)
    CallDay.objects.filter(day=date(2026, 11, 1)).delete()  # a day never counted

    expected = counted_from_the_calls(salon, first, last)
    assert expected["calls"] == 161 and expected["latency"][0] > 100
    assert dashboard_figures(build(salon, first, last)) == expected
    assert dashboard_figures(build(salon, date(2026, 10, 30), date(2026, 11, 3))) == (
        counted_from_the_calls(salon, date(2026, 10, 30), date(2026, 11, 3))
    )
    CallDay.objects.update(calls=0, booked=0)  # however wrong the rows are...
    rebuild([salon])
    assert dashboard_figures(build(salon, first, last)) == expected


def test_a_call_ending_recounts_its_day(salon, django_capture_on_commit_callbacks):
    from calls.services import record_conversation_end

    yesterday = salon.local_today() - timedelta(days=1)
    started = call(salon, at(salon, yesterday, 10), "in_progress", latencies=[300])
    assert CallDay.objects.get(business=salon, day=yesterday).booked == 0
    with django_capture_on_commit_callbacks(execute=True):
        record_conversation_end(
            call_id=started.pk,
            achieved="booked",
            booking_id=None,
            message="",
            handoff_to="",
            events=[("llm_fallback", "timeout")],
        )
    row = CallDay.objects.get(business=salon, day=yesterday)
    assert (row.calls, row.booked, row.llm_fallbacks) == (1, 1, 1)
    assert build(salon, yesterday, yesterday).booked == 1


def test_a_call_ending_on_its_own_day_leaves_the_rollup_alone(
    salon, django_capture_on_commit_callbacks
):
    """Today is counted live, so the call loop never recounts (or locks) today's row; a
    rebuild leaves today without one too, since it would miss the rest of today's calls."""
    from calls.services import record_conversation_end

    now = datetime.now(salon.tz)
    started = call(salon, now, "in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        record_conversation_end(
            call_id=started.pk,
            achieved="booked",
            booking_id=None,
            message="",
            handoff_to="",
            events=[],
        )
    assert not CallDay.objects.filter(business=salon).exists()
    rebuild([salon])
    assert not CallDay.objects.filter(business=salon, day=salon.local_today()).exists()
    assert build(salon, salon.local_today(), salon.local_today()).booked == 1


def test_a_conversation_that_knows_its_call_ends_it_on_its_own_day_in_one_statement(
    salon, django_capture_on_commit_callbacks
):
    """The session knows its call's business and start: its end is the UPDATE alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calls.services import record_conversation_end

    started = Call.objects.get(pk=call(salon, datetime.now(salon.tz), "in_progress", ends=False).pk)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        record_conversation_end(
            call_id=started.pk,
            achieved="booked",
            booking_id=None,
            message="",
            handoff_to="",
            events=[],
            business=salon,
            started_at=started.started_at,
        )
    statements = [
        q["sql"] for q in queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == 1 and statements[0].startswith("UPDATE")
    assert Call.objects.get(pk=started.pk).outcome == "booked"


def test_a_conversation_that_knows_its_call_still_recounts_a_day_that_is_over(
    salon, django_capture_on_commit_callbacks
):
    from calls.services import record_conversation_end

    yesterday = salon.local_today() - timedelta(days=1)
    started = call(salon, at(salon, yesterday, 23, 50), "in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        record_conversation_end(
            call_id=started.pk,
            achieved="booked",
            booking_id=None,
            message="",
            handoff_to="",
            events=[],
            business=salon,
            started_at=at(salon, yesterday, 23, 50),
        )
    assert CallDay.objects.get(business=salon, day=yesterday).booked == 1


def test_today_is_counted_live(salon):
    today = salon.local_today()
    call(salon, datetime.now(salon.tz) - timedelta(seconds=5), "moved", ends=False)
    d = build(salon, today - timedelta(days=6), today)
    assert (d.calls, d.moved, d.per_day[-1].calls) == (1, 1, 1)


def test_rebuild_command(salon):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    call(salon, at(salon, DAY, 10), ends=False)
    out = StringIO()
    call_command("rebuild_call_days", salon.slug, stdout=out)
    assert "Recounted" in out.getvalue()
    assert CallDay.objects.get(business=salon, day=DAY).calls == 1
    with pytest.raises(CommandError, match="No business with slug: nowhere"):
        call_command("rebuild_call_days", "nowhere")
