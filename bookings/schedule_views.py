"""Admin pages for the schedule: one business's day or week. Thin: bookings.schedule builds
what is drawn; the provider gives the outside calendar's busy times."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

from asgiref.sync import async_to_sync
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from bookings import schedule
from bookings.models import Business
from bookings.providers.registry import resolve_provider
from bookings.slots import Interval

logger = logging.getLogger(__name__)

# Staff wait for this page: an outside calendar gets this long before the schedule is drawn
# without its busy times (and says so).
CALENDAR_TIMEOUT_SECONDS = 5.0
VIEWS = {"day": 1, "week": schedule.WEEK}


def outside_busy(business: Business, start, end) -> list[Interval] | None:
    provider = resolve_provider(business)

    async def fetch():
        return await asyncio.wait_for(provider.calendar_busy(start, end), CALENDAR_TIMEOUT_SECONDS)

    try:
        busy = async_to_sync(fetch)()
    except Exception:
        logger.warning(
            "Busy times of %s unavailable for the schedule.", business.slug, exc_info=True
        )
        return None
    return None if busy is None else list(busy)


def parse_day(raw: str | None, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def schedule_page(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    business = model_admin.get_object(request, object_id)
    if business is None:
        raise Http404("No such business.")
    if not model_admin.has_view_permission(request, business):
        raise PermissionDenied
    mode = request.GET.get("view", "day")
    if mode not in VIEWS:
        mode = "day"
    today = business.local_today()
    chosen = parse_day(request.GET.get("date"), today)
    first = schedule.week_start(chosen) if mode == "week" else chosen
    days = VIEWS[mode]
    start, _ = schedule.day_bounds(business, first)
    _, end = schedule.day_bounds(business, first + timedelta(days=days - 1))
    view = schedule.build(
        business, first, days, today=today, busy=outside_busy(business, start, end)
    )
    step = timedelta(days=days)
    url = reverse("admin:bookings_business_schedule", args=[business.pk])

    def link(day: date, kind: str = mode) -> str:
        return f"{url}?view={kind}&date={day.isoformat()}"

    for day in view.days:
        day.url = link(day.date, "day")
    if mode == "week":
        last = first + timedelta(days=days - 1)
        heading = f"Week of {first:%a %-d %b} to {last:%a %-d %b %Y}"
    else:
        heading = f"{first:%A %-d %B %Y}"
    return render(
        request,
        "admin/bookings/business/schedule.html",
        {
            **admin.site.each_context(request),
            "opts": Business._meta,
            "original": business,
            "title": f"{business.name}: schedule",
            "heading": heading,
            "mode": mode,
            "view": view,
            "previous_url": link(first - step),
            "next_url": link(first + step),
            "today_url": link(today),
            "day_url": link(chosen, "day"),
            "week_url": link(chosen, "week"),
            "business_url": reverse("admin:bookings_business_change", args=[business.pk]),
            "now_top": _now_top(business, view, today),
        },
    )


def _now_top(business: Business, view: schedule.ScheduleView, today: date) -> int | None:
    """Where the "now" line goes on today's column, if today is shown and within the axis."""
    if not any(day.is_today for day in view.days):
        return None
    local = timezone.now().astimezone(business.tz)
    minute = schedule.minutes_into_day(local)
    if view.axis_start <= minute <= view.axis_end:
        return minute - view.axis_start
    return None


def choose_business(model_admin, request: HttpRequest, url_name: str, title: str) -> HttpResponse:
    """The admin index's "Schedule"/"Dashboard" link: straight to the only business, or a
    list to pick from."""
    businesses = [
        b
        for b in Business.objects.filter(is_active=True)
        if model_admin.has_view_permission(request, b)
    ]
    if len(businesses) == 1:
        return redirect(reverse(url_name, args=[businesses[0].pk]))
    return render(
        request,
        "admin/bookings/business/choose.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "choices": [(b, reverse(url_name, args=[b.pk])) for b in businesses],
        },
    )
