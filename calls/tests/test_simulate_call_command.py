"""`manage.py simulate_call`: the receptionist in a terminal, fed from piped input.

Demo Salon, now frozen at Wednesday 2026-11-25 10:00 in New York.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from bookings.models import Booking, Business
from bookings.tests.factories import BookingFactory
from calls.models import Call

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def simulate(lines: str, *args: str) -> str:
    out = io.StringIO()
    call_command("simulate_call", "demo", *args, stdin=io.StringIO(lines), stdout=out)
    return out.getvalue()


def test_piped_conversation_books_and_prints_the_booking():
    output = simulate("Hi, this is Maria, can I get a haircut tomorrow at 3?\nyes\nyes please\n")
    lines = output.splitlines()
    assert lines[0] == "Receptionist: Hello, thanks for calling Demo Salon. How can I help you?"
    assert lines[1] == "Caller: Hi, this is Maria, can I get a haircut tomorrow at 3?"
    assert lines[2].startswith("Receptionist: ") and "number you're calling from" in lines[2]
    assert lines[4] == (
        "Receptionist: A haircut for Maria on Thursday, November 26th at 3 PM. Shall I book it?"
    )
    assert lines[6].startswith("Receptionist: You're all set, Maria")
    assert "Call ended: booked" in lines

    booking = Booking.objects.get()
    assert (booking.customer_name, booking.service.name) == ("Maria", "Haircut")
    # No --caller: a fresh fictional test number of its own (NXX-555-01XX).
    assert re.fullmatch(r"\+1[2-9]\d\d55501\d\d", booking.customer_phone)
    assert (
        f"Booking: Haircut for Maria ({booking.customer_phone}) on Thursday, November 26, 2026"
        " at 3:00 PM EST [confirmed]"
    ) in lines
    assert f"  http://127.0.0.1:8000/admin/bookings/booking/{booking.pk}/change/" in lines
    call = Call.objects.get()
    assert (call.channel, call.outcome, call.booking_id) == ("simulator", "booked", booking.pk)
    assert call.sid.startswith("SIM")
    assert lines[-1] == f"Call: http://127.0.0.1:8000/admin/calls/call/{call.pk}/change/"


def test_lines_after_the_call_ended_are_not_read():
    output = simulate("this is Maria, haircut tomorrow at 3\nyes\nyes\nand one more thing\n")
    assert "and one more thing" not in output
    assert "Call ended: booked" in output


def test_end_of_input_mid_call_hangs_up_cleanly():
    output = simulate("a haircut please\n")
    assert "What day and time" in output
    assert output.splitlines()[-2] == "Call ended: abandoned"
    call = Call.objects.get()
    assert (call.outcome, call.booking) == ("abandoned", None)
    assert call.ended_at is not None
    assert Booking.objects.count() == 0


def test_quit_hangs_up():
    output = simulate("quit\na haircut please\n")
    assert "Caller:" not in output
    assert "Call ended: abandoned" in output


def test_caller_option_sets_the_caller_id():
    simulate("this is Maria, haircut tomorrow at 3\nyes\nyes\n", "--caller", "+15555550177")
    assert Booking.objects.get().customer_phone == "+15555550177"
    assert Call.objects.get().from_number == "+15555550177"


def test_unknown_business_is_an_error_naming_the_active_ones():
    with pytest.raises(CommandError, match=re.escape("No active business 'nope'. Active: demo.")):
        call_command("simulate_call", "nope", stdin=io.StringIO(""), stdout=io.StringIO())


def real_customer_booking() -> Booking:
    """A booking a real customer made on a real call (not a simulated one)."""
    business = Business.objects.get(slug="demo")
    return BookingFactory(
        business=business,
        service=business.services.get(name="Manicure"),
        customer_phone="+12125550148",
        start=NOW + timedelta(days=5),
        source_call_sid="CA" + "7" * 32,
    )


def test_a_real_customers_number_is_refused_without_consent():
    booking = real_customer_booking()
    with pytest.raises(
        CommandError, match=r"real customer's number \(1 upcoming booking\).*--as-customer"
    ):
        simulate("cancel my manicure\nyes\n", "--caller", "+12125550148")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert not Call.objects.exists()


def test_calling_as_the_customer_on_purpose_finds_their_booking():
    real_customer_booking()
    output = simulate("when is my appointment?\n", "--caller", "+12125550148", "--as-customer")
    assert "manicure" in output.lower()
    assert Call.objects.get().from_number == "+12125550148"
