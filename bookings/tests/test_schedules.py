"""A business's schedule and services are loaded once per process and reloaded only after
they change: in this process (signals) or in another one (the business's schedule_version)."""

from __future__ import annotations

import uuid
from datetime import time

import pytest

from bookings import schedules
from bookings.models import Business, DateException, OpeningHours, Service, ServiceHours
from bookings.services import book_slot
from bookings.slots import Refusal
from bookings.tests.factories import ServiceFactory
from bookings.tests.timeutil import local, upcoming

pytestmark = pytest.mark.django_db


def test_a_loaded_schedule_and_services_cost_no_queries_until_they_change(
    business, haircut, django_assert_num_queries
):
    first_call = Business.objects.get(pk=business.pk)
    first_call.schedule()
    first_call.active_services()

    again = Business.objects.get(pk=business.pk)  # a later call loads the business row
    with django_assert_num_queries(0):
        again.schedule()
        assert again.active_services() == [haircut]


def test_staff_edits_in_this_process_are_seen_at_once(business, haircut):
    tuesday = upcoming(business, 1)
    assert business.schedule().ranges_on(tuesday) == ((time(9), time(18)),)

    DateException.objects.create(business=business, date=tuesday, closed=True)
    assert business.schedule().ranges_on(tuesday) == ()

    hours = OpeningHours.objects.get(business=business, weekday=1)
    hours.opens = time(11)
    hours.save()
    DateException.objects.get().delete()
    assert business.schedule().ranges_on(tuesday) == ((time(11), time(18)),)

    beard = ServiceFactory(business=business, name="Beard trim")
    assert business.active_services() == [beard, haircut]
    haircut.is_active = False
    haircut.save()
    assert business.active_services() == [beard]


def test_another_process_edit_is_seen_by_the_next_call_here(business, haircut):
    tuesday = upcoming(business, 1)
    business.schedule()
    # What another process's admin save leaves behind: new hours and a new version, without
    # this process's signals having run.
    OpeningHours.objects.filter(business=business, weekday=1).update(opens=time(12))
    Business.objects.filter(pk=business.pk).update(schedule_version=uuid.uuid4())

    assert business.schedule().ranges_on(tuesday) == ((time(9), time(18)),)  # this call's copy
    next_call = Business.objects.get(pk=business.pk)
    assert next_call.schedule().ranges_on(tuesday) == ((time(12), time(18)),)


def test_a_booking_is_checked_against_the_hours_as_they_are_now(business, haircut):
    tuesday = upcoming(business, 1)
    business.schedule()  # the call began with Tuesday open
    # Staff close Tuesday in another process while the caller is still talking.
    DateException.objects.bulk_create([DateException(business=business, date=tuesday)])
    Business.objects.filter(pk=business.pk).update(schedule_version=uuid.uuid4())

    outcome = book_slot(
        business=business,
        service=haircut,
        start=local(business, tuesday, 10),
        customer_name="Maria",
        customer_phone="+15555550123",
        provider="native",
    )

    assert outcome.booking is None and outcome.refusal == Refusal.CLOSED_DAY


def test_services_of_other_businesses_and_inactive_ones_are_not_offered(business, haircut):
    ServiceFactory(name="Elsewhere")
    Service.objects.create(business=business, name="Retired", duration_minutes=30, is_active=False)

    assert business.active_services() == [haircut]


def test_forgetting_one_business_keeps_the_others(business, haircut):
    other = ServiceFactory(name="Elsewhere").business
    business.schedule()
    other.schedule()
    schedules.forget(business.pk)

    assert business.pk not in schedules._copies
    assert other.pk in schedules._copies


def test_a_service_getting_its_own_hours_is_seen_at_once(business, haircut):
    assert haircut.pk not in business.schedule().services

    hours = ServiceHours.objects.create(service=haircut, weekday=1, opens=time(10), closes=time(12))
    assert haircut.pk in business.schedule().services

    hours.delete()
    assert haircut.pk not in business.schedule().services
