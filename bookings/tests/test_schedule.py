"""The schedule: a day or week of a business in its own zone, with opening hours, special
days, bookings by status and links, arrows between days and weeks; DST days drawn right."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from bookings.models import DateException
from bookings.schedule import build
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from bookings.tests.timeutil import local

pytestmark = pytest.mark.django_db

# 2026's autumn change in New York: Sunday 1 November, 02:00 EDT -> 01:00 EST.
BEFORE_DST_END = date(2026, 10, 30)  # Friday, EDT
AFTER_DST_END = date(2026, 11, 2)  # Monday, EST


@pytest.fixture
def salon():
    business = BusinessFactory(name="Maple Salon", timezone="America/New_York")
    ServiceFactory(business=business, name="Haircut", duration_minutes=30)
    ServiceFactory(business=business, name="Beard trim", duration_minutes=15)
    return business


def service(salon, name):
    return salon.services.get(name=name)


def page(client, salon, **params):
    url = reverse("admin:bookings_business_schedule", args=[salon.pk])
    return client.get(url, params)


def tops(html: str) -> dict[str, int]:
    """Each drawn booking's start label -> its position on the grid (minutes from the top)."""
    found = re.findall(r'data-start="([\d:]+)" data-top="(\d+)"', html)
    return {start: int(top) for start, top in found}


def test_week_across_the_end_of_dst_puts_10am_on_the_same_line(salon):
    BookingFactory(service=service(salon, "Haircut"), start=local(salon, BEFORE_DST_END, 10))
    BookingFactory(service=service(salon, "Haircut"), start=local(salon, AFTER_DST_END, 10))
    view = build(salon, date(2026, 10, 26), 14, today=date(2026, 10, 26))
    friday, monday = view.days[4], view.days[7]
    assert (friday.zone, monday.zone) == ("EDT", "EST")
    assert friday.bookings[0].top == monday.bookings[0].top == 10 * 60 - view.axis_start
    assert friday.bookings[0].label_time == monday.bookings[0].label_time == "10:00-10:30"


def test_a_day_of_25_hours_places_evening_bookings_by_their_wall_clock(salon):
    sunday = date(2026, 11, 1)
    salon.opening_hours.create(weekday=6, opens=time(0, 30), closes=time(20))
    late = BookingFactory(service=service(salon, "Haircut"), start=local(salon, sunday, 19))
    view = build(salon, sunday, 1, today=sunday)
    [block] = view.days[0].bookings
    assert block.booking == late
    assert block.top + view.axis_start == 19 * 60
    assert block.height == 30


def test_day_page_shows_hours_bookings_status_and_links(admin_client, salon):
    day = date(2026, 12, 1)  # a Tuesday
    kept = BookingFactory(
        service=service(salon, "Haircut"), start=local(salon, day, 10), customer_name="Maria"
    )
    dropped = BookingFactory(
        service=service(salon, "Beard trim"),
        start=local(salon, day, 10),
        customer_name="Jo",
        status="cancelled",
    )
    html = page(admin_client, salon, date=day.isoformat()).content.decode()
    assert "Maple Salon: Tuesday 1 December 2026" in html
    assert "09:00-18:00 EST" in html
    assert "Times in America/New_York" in html
    for booking in (kept, dropped):
        assert reverse("admin:bookings_booking_change", args=[booking.pk]) in html
    assert 'class="schedule-booking status-confirmed' in html
    assert 'class="schedule-booking status-cancelled' in html
    assert "Haircut" in html and "Maria" in html and "Beard trim" in html
    # Side by side, not on top of each other.
    assert "width: calc(100% / 2)" in html
    prev, nxt = "?view=day&amp;date=2026-11-30", "?view=day&amp;date=2026-12-02"
    assert prev in html and nxt in html


def test_week_page_starts_on_monday_and_moves_a_week(admin_client, salon):
    html = page(admin_client, salon, view="week", date="2026-12-03").content.decode()
    assert "Week of Mon 30 Nov to Sun 6 Dec 2026" in html
    assert "?view=week&amp;date=2026-11-23" in html and "?view=week&amp;date=2026-12-07" in html
    assert html.count('<section class="schedule-day') == 7
    assert "?view=day&amp;date=2026-12-05" in html  # each day links to its own page


def test_special_days_replace_the_weekly_hours(admin_client, salon):
    DateException.objects.create(business=salon, date=date(2026, 12, 24), opens=time(9),
                                 closes=time(13), closed=False, note="Christmas Eve")  # fmt: skip
    DateException.objects.create(business=salon, date=date(2026, 12, 25), note="Christmas")
    html = page(admin_client, salon, view="week", date="2026-12-24").content.decode()
    assert "Special day: Christmas Eve" in html and "09:00-13:00 EST" in html
    assert "Special day: Christmas" in html
    christmas = build(salon, date(2026, 12, 25), 1, today=date(2026, 12, 1)).days[0]
    assert christmas.opening == [] and christmas.hours_text == "Closed"


def test_bad_dates_and_views_fall_back_to_today(admin_client, salon):
    response = page(admin_client, salon, view="month", date="2026-13-45")
    assert response.status_code == 200
    assert salon.local_today().strftime("%-d %B %Y") in response.content.decode()


def test_staff_without_view_permission_get_403(salon):
    user = User.objects.create_user("temp", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    assert page(client, salon).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_business"))
    assert page(client, salon).status_code == 200


def test_admin_index_and_business_page_link_to_the_schedule(admin_client, salon):
    index = admin_client.get("/admin/").content.decode()
    chooser = reverse("admin:bookings_business_choose_schedule")
    assert f'href="{chooser}"' in index
    # One business: straight to its schedule.
    response = admin_client.get(chooser)
    assert response.status_code == 302
    assert response.url == reverse("admin:bookings_business_schedule", args=[salon.pk])
    other = BusinessFactory(name="Oak Barbers")
    listing = admin_client.get(chooser).content.decode()
    assert "Maple Salon" in listing and "Oak Barbers" in listing
    business_page = admin_client.get(
        reverse("admin:bookings_business_change", args=[other.pk])
    ).content.decode()
    schedule_url = reverse("admin:bookings_business_schedule", args=[other.pk])
    assert f'href="{schedule_url}"' in business_page
    assert f'href="{schedule_url}?view=week"' in business_page


def test_booking_outside_the_usual_hours_stretches_the_grid(salon):
    day = date(2026, 12, 1)
    BookingFactory(service=service(salon, "Haircut"), start=local(salon, day, 19, 30))
    view = build(salon, day, 1, today=day)
    assert (view.axis_start, view.axis_end) == (9 * 60, 20 * 60)
    assert view.days[0].bookings[0].top == 10 * 60 + 30


def test_a_week_without_bookings_still_reads(admin_client, salon):
    html = page(admin_client, salon, view="week", date="2026-12-07").content.decode()
    assert html.count("No bookings") == 6
    assert html.count('<p class="schedule-empty">Closed</p>') == 1
    # A closed day's hours need no zone ("Closed", not "Closed EST").
    assert html.count('<span class="schedule-hours">Closed</span>') == 1
    assert timedelta
