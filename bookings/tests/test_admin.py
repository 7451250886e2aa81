"""Admin pages staff and ops use: render, save, the provider kill switch, business time."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse

from bookings.models import Booking, Business, Service
from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from bookings.tests.page_forms import form_values
from bookings.tests.timeutil import local, upcoming

pytestmark = pytest.mark.django_db


def business_form_data(client, business: Business, **overrides) -> dict:
    """The business's change form as a browser would submit it, with `overrides` typed in."""
    page = client.get(reverse("admin:bookings_business_change", args=[business.pk]))
    return form_values(page.content.decode()) | overrides


def test_business_pages_render_with_inlines_and_options(admin_client):
    business = BusinessFactory()
    ServiceFactory(business=business, name="Haircut")
    assert admin_client.get(reverse("admin:bookings_business_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:bookings_business_change", args=[business.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Haircut" in html and "Opening hours" in html and "Special days" in html
    assert "option_" not in html  # the native provider has no options
    assert "default duration" not in html.lower()
    assert 'name="provider_options"' not in html  # a form, not raw JSON
    assert admin_client.get(reverse("admin:bookings_business_add")).status_code == 200


def test_a_retired_stored_option_is_harmless_and_dropped_on_save(admin_client):
    # "default_duration_minutes" was offered once and never read: old rows still carry it.
    business = BusinessFactory(provider_options={"default_duration_minutes": 45})
    url = reverse("admin:bookings_business_change", args=[business.pk])
    response = admin_client.post(url, business_form_data(admin_client, business))
    assert response.status_code == 302, response.content.decode()[:2000]
    business.refresh_from_db()
    assert business.provider_options == {}


def test_google_options_are_real_fields_saved_validated(admin_client):
    business = BusinessFactory(booking_provider="google_calendar")
    url = reverse("admin:bookings_business_change", args=[business.pk])
    data = business_form_data(admin_client, business)
    assert "option_create_events" in data
    data.pop("option_create_events")  # unticked
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    business.refresh_from_db()
    assert business.provider_options == {"check_availability": True, "create_events": False}


def test_receptionist_inline_has_a_human_title(admin_client):
    business = BusinessFactory()
    html = admin_client.get(
        reverse("admin:bookings_business_change", args=[business.pk])
    ).content.decode()
    assert "#1" not in html
    assert "Receptionist settings:" not in html
    assert "How calls are answered" in html


def test_bad_phone_and_timezone_are_refused(admin_client):
    business = BusinessFactory()
    url = reverse("admin:bookings_business_change", args=[business.pk])
    data = business_form_data(
        admin_client, business, phone_number="555-0100", timezone="Mars/Olympus"
    )
    html = admin_client.post(url, data).content.decode()
    assert "E.164" in html and "Select a valid choice" in html


def test_ops_flip_the_provider_from_the_changelist(admin_client):
    business = BusinessFactory(booking_provider="native", is_active=True)
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(business.pk),
        "form-0-booking_provider": "native",
        "form-0-is_active": "",
        "_save": "Save",
    }
    response = admin_client.post(reverse("admin:bookings_business_changelist"), data)
    assert response.status_code == 302
    business.refresh_from_db()
    assert business.is_active is False


def test_booking_changelist_filters_search_and_business_time(admin_client):
    service = ServiceFactory()
    business = service.business
    start = local(business, upcoming(business, 1), 15)
    BookingFactory(service=service, start=start, customer_name="Maria Lopez")
    url = reverse("admin:bookings_booking_changelist")
    html = admin_client.get(url).content.decode()
    assert "15:00 EST" in html or "15:00 EDT" in html  # business time, not UTC
    for query in (
        "?q=Maria",
        "?q=%2B1555",
        f"?business__id__exact={business.pk}",
        "?status__exact=confirmed",
    ):
        page = admin_client.get(url + query)
        assert page.status_code == 200 and "Maria Lopez" in page.content.decode(), query
    assert "Maria Lopez" not in admin_client.get(url + "?q=Nobody").content.decode()


def test_booking_change_form_shows_business_time_and_refuses_overlap(admin_client):
    service = ServiceFactory()
    business = service.business
    start = local(business, upcoming(business, 1), 15)
    first = BookingFactory(service=service, start=start)
    second = BookingFactory(service=service, start=start + timedelta(hours=2), customer_name="Bo")
    page = admin_client.get(reverse("admin:bookings_booking_change", args=[first.pk]))
    assert 'value="15:00:00"' in page.content.decode()
    data = {
        "business": business.pk,
        "service": service.pk,
        "customer_name": "Bo",
        "customer_phone": "+15555550123",
        "start_0": start.strftime("%Y-%m-%d"),
        "start_1": "15:15:00",
        "status": "confirmed",
    }
    response = admin_client.post(reverse("admin:bookings_booking_change", args=[second.pk]), data)
    assert "overlaps another confirmed booking" in response.content.decode()


def test_cancel_action(admin_client):
    service = ServiceFactory()
    booking = BookingFactory(
        service=service, start=local(service.business, upcoming(service.business, 1), 10)
    )
    admin_client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel_selected", "_selected_action": [booking.pk]},
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_staff_set_prices_currency_address_and_about_in_admin(admin_client):
    business = BusinessFactory()
    haircut = ServiceFactory(business=business, name="Haircut")
    colour = ServiceFactory(business=business, name="Colour")
    url = reverse("admin:bookings_business_change", args=[business.pk])
    data = business_form_data(admin_client, business)
    prefix = next(k[: -len("-0-id")] for k in data if k.endswith("-0-id") and "service" in k)
    rows = {data[f"{prefix}-{n}-id"]: n for n in range(2)}
    response = admin_client.post(
        url,
        data
        | {
            "address": "12 Main Street",
            "about": "A small salon.",
            "currency": "GBP",
            f"{prefix}-{rows[str(haircut.pk)]}-price_from": "35",
            f"{prefix}-{rows[str(colour.pk)]}-price_from": "80",
            f"{prefix}-{rows[str(colour.pk)]}-price_to": "150",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    business.refresh_from_db()
    haircut.refresh_from_db()
    colour.refresh_from_db()
    assert (business.address, business.about) == ("12 Main Street", "A small salon.")
    assert business.currency == "GBP"
    assert (haircut.price_from, haircut.price_to) == (35, None)
    assert (colour.price_from, colour.price_to) == (80, 150)


def test_an_unknown_currency_is_refused(admin_client):
    business = BusinessFactory()
    url = reverse("admin:bookings_business_change", args=[business.pk])
    response = admin_client.post(
        url, business_form_data(admin_client, business) | {"currency": "XYZ"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    business.refresh_from_db()
    assert business.currency == "USD"


def test_a_price_range_upside_down_is_refused(admin_client):
    business = BusinessFactory()
    colour = ServiceFactory(business=business, name="Colour")
    url = reverse("admin:bookings_business_change", args=[business.pk])
    data = business_form_data(admin_client, business)
    prefix = next(k[: -len("-0-id")] for k in data if k.endswith("-0-id") and "service" in k)
    response = admin_client.post(
        url, data | {f"{prefix}-0-price_from": "150", f"{prefix}-0-price_to": "80"}
    )
    assert response.status_code == 200
    assert "The top of the range is below the price." in response.content.decode()
    colour.refresh_from_db()
    assert colour.price_from is None


def test_a_new_booking_typed_in_admin_is_in_the_business_time_zone(admin_client):
    service = ServiceFactory(business=BusinessFactory(timezone="America/Los_Angeles"))
    business = service.business
    day = upcoming(business, 2)
    page = admin_client.get(reverse("admin:bookings_booking_add")).content.decode()
    assert "In the business's own time zone." in page
    assert "bookings/admin_booking.css" in page  # hides "You are N hours ahead of server time"
    data = {
        "business": business.pk,
        "service": service.pk,
        "customer_name": "Ana",
        "customer_phone": "+15555550123",
        "start_0": day.strftime("%Y-%m-%d"),
        "start_1": "10:00:00",
        "status": "confirmed",
    }
    response = admin_client.post(reverse("admin:bookings_booking_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Booking.objects.get(customer_name="Ana").start == local(business, day, 10)


def test_text_message_pages_show_the_business_time_labelled(admin_client):
    from calls.sms.models import SmsMessage

    service = ServiceFactory(business=BusinessFactory(timezone="America/Chicago"))
    booking = BookingFactory(
        service=service, start=local(service.business, upcoming(service.business, 1), 9)
    )
    sent = datetime(2026, 7, 1, 15, 30, tzinfo=UTC)
    sms = SmsMessage.objects.create(
        booking=booking,
        kind="booking_confirmation",
        to="+15555550123",
        sender="+15555550100",
        body="Hi",
        status="sent",
        sent_at=sent,
        first_attempt_at=sent,
    )
    # The date and the time each stay whole; a narrow list may put one above the other.
    shown = '<span class="nowrap">Wed 2026-07-01</span> <span class="nowrap">10:30 CDT</span>'
    listing = admin_client.get(reverse("admin:calls_smsmessage_changelist")).content.decode()
    assert shown in listing
    detail = admin_client.get(reverse("admin:calls_smsmessage_change", args=[sms.pk]))
    assert shown in detail.content.decode()
    assert "15:30" not in detail.content.decode()


def test_a_services_rules_are_edited_with_it(admin_client):
    business = BusinessFactory()
    colouring = ServiceFactory(business=business, name="Hair colouring", duration_minutes=90)
    # On the business page the buffer and notice sit in the service's row, with a link to
    # the service's own page for its days and hours.
    html = admin_client.get(
        reverse("admin:bookings_business_change", args=[business.pk])
    ).content.decode()
    assert 'name="services-0-buffer_minutes"' in html
    assert 'name="services-0-min_notice_minutes"' in html
    assert reverse("admin:bookings_service_change", args=[colouring.pk]) in html

    url = reverse("admin:bookings_service_change", args=[colouring.pk])
    data = form_values(admin_client.get(url).content.decode()) | {
        "buffer_minutes": "15",
        "min_notice_minutes": "1440",
        "hours-TOTAL_FORMS": "2",
        "hours-0-weekday": "1",
        "hours-0-opens": "10:00",
        "hours-0-closes": "15:00",
        "hours-1-weekday": "5",
        "hours-1-opens": "10:00",
        "hours-1-closes": "15:00",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    colouring = Service.objects.get(pk=colouring.pk)
    assert colouring.buffer_minutes == 15 and colouring.min_notice_minutes == 1440
    rules = business.schedule().for_service(colouring.pk).service
    assert rules.weekly == {1: ((time(10), time(15)),), 5: ((time(10), time(15)),)}

    # Hours that end before they start are refused with a message, and nothing is saved.
    bad = data | {"hours-TOTAL_FORMS": "3", "hours-2-weekday": "2"}
    bad |= {"hours-2-opens": "15:00", "hours-2-closes": "10:00"}
    response = admin_client.post(url, bad)
    assert response.status_code == 200
    assert "Closing time must be after opening time." in response.content.decode()
    assert colouring.hours.count() == 2
