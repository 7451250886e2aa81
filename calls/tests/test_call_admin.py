"""The Call admin: what staff see of a call, read-only, in the business's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from bookings.tests.factories import BookingFactory, BusinessFactory, ServiceFactory
from calls.models import Call, CallTurn

# 2025-03-10 is the Monday after US clocks went forward: New York is UTC-4 (EDT).
STARTED = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


@pytest.fixture
def business(db):
    return BusinessFactory(name="Bright Cuts", slug="bright-cuts", timezone="America/New_York")


@pytest.fixture
def booked_call(business):
    service = ServiceFactory(business=business, name="Haircut")
    booking = BookingFactory(
        service=service, customer_name="Maria", start=datetime(2025, 3, 12, 15, tzinfo=UTC)
    )
    call = Call.objects.create(
        sid="CAbooked0000000000000000000000000",
        business=business,
        from_number="+15558670199",
        to_number=business.phone_number,
        outcome=Call.Outcome.BOOKED,
        booking=booking,
        ended_at=STARTED + timedelta(minutes=2, seconds=5),
        message="Please call back about <b>parking</b>",
        events=[
            {"at": "2025-03-10T14:01:00+00:00", "event": "provider_fallback", "detail": "<i>x</i>"}
        ],
    )
    Call.objects.filter(pk=call.pk).update(started_at=STARTED)
    say = CallTurn.objects.create
    say(call=call, speaker="receptionist", text="Hi, Bright Cuts here.", at=STARTED)
    say(
        call=call,
        speaker="caller",
        text="<script>alert('hi')</script> a haircut please",
        at=STARTED + timedelta(seconds=4),
    )
    say(
        call=call,
        speaker="receptionist",
        text="Sure, what day",
        at=STARTED + timedelta(seconds=6),
        interrupted=True,
    )
    call.refresh_from_db()
    return call


@pytest.fixture
def abandoned_call(business):
    return Call.objects.create(
        sid="CAabandoned00000000000000000000000",
        business=business,
        from_number="+15550001111",
        outcome=Call.Outcome.ABANDONED,
    )


def changelist(client, **params):
    return client.get(reverse("admin:calls_call_changelist"), params)


def change_page(client, call):
    return client.get(reverse("admin:calls_call_change", args=[call.pk]))


def listed(call: Call, content: str) -> bool:
    """Whether the list links to this call's page."""
    return reverse("admin:calls_call_change", args=[call.pk]) in content


def test_changelist_lists_calls_in_the_business_time_zone(admin_client, booked_call):
    response = changelist(admin_client)

    assert response.status_code == 200
    content = response.content.decode()
    assert listed(booked_call, content)
    assert "2025-03-10 10:00 EDT" in content
    assert "2:05" in content  # duration
    assert reverse("admin:bookings_booking_change", args=[booked_call.booking_id]) in content
    assert "+15558670199" in content


def test_changelist_filters_by_outcome(admin_client, booked_call, abandoned_call):
    content = changelist(admin_client, outcome__exact="booked").content.decode()

    assert listed(booked_call, content)
    assert not listed(abandoned_call, content)


def test_changelist_filters_by_business(admin_client, booked_call):
    other = Call.objects.create(sid="CAother", business=BusinessFactory())

    content = changelist(admin_client, business__id__exact=booked_call.business_id)

    assert listed(booked_call, content.content.decode())
    assert not listed(other, content.content.decode())


def test_changelist_filters_by_channel(admin_client, booked_call, business):
    simulated = Call.objects.create(sid="SIMtest", business=business, channel="simulator")

    content = changelist(admin_client, channel__exact="simulator").content.decode()

    assert listed(simulated, content)
    assert not listed(booked_call, content)


def test_an_enquiry_and_a_declined_read_back_are_shown_and_filtered_by_name(
    admin_client, business, abandoned_call
):
    enquiry = Call.objects.create(sid="CAq1", business=business, outcome=Call.Outcome.ANSWERED)
    declined = Call.objects.create(sid="CAq2", business=business, outcome=Call.Outcome.DECLINED)
    content = changelist(admin_client).content.decode()
    assert "Questions answered" in content and "Declined at read-back" in content

    content = changelist(admin_client, outcome__exact="answered").content.decode()
    assert listed(enquiry, content)
    assert not listed(declined, content) and not listed(abandoned_call, content)


def test_changelist_searches_the_caller_number(admin_client, booked_call, abandoned_call):
    content = changelist(admin_client, q="+15550001111").content.decode()

    assert listed(abandoned_call, content)
    assert not listed(booked_call, content)


def test_change_page_shows_the_transcript_as_a_conversation(admin_client, booked_call):
    response = change_page(admin_client, booked_call)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'class="call-turn call-turn-caller"' in content
    assert 'class="call-turn call-turn-receptionist"' in content
    assert "Hi, Bright Cuts here." in content
    assert "10:00:04" in content  # the caller's turn, New York time
    assert "(interrupted)" in content
    assert content.index("Hi, Bright Cuts here.") < content.index("a haircut please")


def test_caller_text_is_escaped(admin_client, booked_call):
    content = change_page(admin_client, booked_call).content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&#x27;hi&#x27;)&lt;/script&gt; a haircut please" in content
    assert "<b>parking</b>" not in content
    assert "<i>x</i>" not in content


def test_change_page_shows_message_events_and_booking(admin_client, booked_call):
    content = change_page(admin_client, booked_call).content.decode()

    assert "Please call back about &lt;b&gt;parking&lt;/b&gt;" in content
    assert "provider_fallback" in content
    assert "2025-03-10 10:01 EDT" in content
    assert reverse("admin:bookings_booking_change", args=[booked_call.booking_id]) in content


def test_call_without_turns_says_so(admin_client, abandoned_call):
    content = change_page(admin_client, abandoned_call).content.decode()

    assert "Nothing was said." in content


def test_no_secret_is_shown(admin_client, settings, booked_call):
    content = change_page(admin_client, booked_call).content.decode()

    assert settings.TWILIO_AUTH_TOKEN not in content


def test_calls_cannot_be_added_changed_or_deleted(admin_client, booked_call):
    add = admin_client.get(reverse("admin:calls_call_add"))
    change = admin_client.post(
        reverse("admin:calls_call_change", args=[booked_call.pk]), {"outcome": "failed"}
    )
    delete = admin_client.post(
        reverse("admin:calls_call_delete", args=[booked_call.pk]), {"post": "yes"}
    )

    assert add.status_code == change.status_code == delete.status_code == 403
    booked_call.refresh_from_db()
    assert booked_call.outcome == Call.Outcome.BOOKED


def test_staff_with_view_permission_can_read_calls(client, booked_call):
    staff = User.objects.create_user("frontdesk", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_call"))
    client.force_login(staff)

    assert changelist(client).status_code == 200
    assert change_page(client, booked_call).status_code == 200


def test_staff_without_permission_cannot(client, booked_call):
    staff = User.objects.create_user("visitor", password="pw", is_staff=True)
    client.force_login(staff)

    assert changelist(client).status_code == 403
