"""The dashboard page in admin: one business, one period. Thin: calls.dashboard counts,
calls.charts draws."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from bookings.models import Business
from calls import charts, dashboard

PERIODS = {"7": 7, "30": 30, "90": 90}
DEFAULT_PERIOD = "30"
MAX_DAYS = 366


def _period(request: HttpRequest, today: date) -> tuple[str, date, date]:
    """('7'|'30'|'90'|'custom', first, last): the last N days up to today, or from/to."""
    try:
        first = date.fromisoformat(request.GET["from"])
        last = date.fromisoformat(request.GET["to"])
    except (KeyError, ValueError):
        pass
    else:
        if first <= last and (last - first).days < MAX_DAYS:
            return "custom", first, last
    key = request.GET.get("period", DEFAULT_PERIOD)
    if key not in PERIODS:
        key = DEFAULT_PERIOD
    return key, today - timedelta(days=PERIODS[key] - 1), today


def dashboard_page(model_admin, request: HttpRequest, business_id: str) -> HttpResponse:
    business = Business.objects.filter(pk=business_id).first() if business_id.isdigit() else None
    if business is None:
        raise Http404("No such business.")
    if not (
        model_admin.has_view_permission(request) and request.user.has_perm("bookings.view_business")
    ):
        raise PermissionDenied
    key, first, last = _period(request, business.local_today())
    figures = dashboard.build(business, first, last)
    url = reverse("admin:calls_call_dashboard", args=[business.pk])
    return render(
        request,
        "admin/calls/dashboard.html",
        {
            **admin.site.each_context(request),
            "title": f"{business.name}: how the phone is doing",
            "business": business,
            "d": figures,
            "period": key,
            "periods": [(k, f"Last {n} days", f"{url}?period={k}") for k, n in PERIODS.items()],
            "calls_chart": charts.daily_bars(figures.per_day),
            "outcomes_chart": charts.horizontal_bars(figures.outcomes),
            "latency_chart": charts.horizontal_bars(
                [("p50", figures.p50_ms or 0), ("p95", figures.p95_ms or 0)], unit=" ms"
            ),
            "schedule_url": reverse("admin:bookings_business_schedule", args=[business.pk]),
        },
    )
