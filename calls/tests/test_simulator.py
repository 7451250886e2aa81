"""The simulator: staff talk to the receptionist through a socket, logged in with their session.

Demo Salon, now frozen at Wednesday 2026-11-25 10:00 in New York (so "tomorrow" is Thursday
the 26th). The socket is reached through the project's own routing (receptionist.asgi), with a real
session cookie from the admin login.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client

from bookings.models import Booking, Business
from bookings.tests.factories import BusinessFactory, acreate
from calls.models import Call, CallTurn
from receptionist.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/New_York"))
OUR_ORIGIN = b"http://127.0.0.1:8000"
PATH = "/ws/simulator/demo/"
GREETING = "Hello, thanks for calling Demo Salon. How can I help you?"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def demo(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


# What trying the receptionist takes: seeing the business, making and changing bookings.
SIMULATING = ("view_business", "add_booking", "change_booking", "view_booking", "view_call")
LOOKING_ONLY = ("view_business", "view_booking", "view_call", "view_smsmessage")


def make_user(username: str, *, staff: bool = True, perms: tuple[str, ...] = ()) -> User:
    user = User.objects.create_user(username, password="not-used-here", is_staff=staff)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    return user


@pytest.fixture
def front_desk(db) -> User:
    return make_user("frontdesk", perms=SIMULATING)


def session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
def staff_cookie(front_desk) -> bytes:
    return session_cookie(front_desk)


async def open_socket(
    cookie: bytes | None, *, origin: bytes | None = OUR_ORIGIN, path: str = PATH
) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie))
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect(timeout=5)
    return socket, connected


async def receive(socket: WebsocketCommunicator) -> dict:
    return await socket.receive_json_from(timeout=5)


async def answer(socket: WebsocketCommunicator) -> list[str]:
    """The receptionist's next answer, as the tokens it streamed in."""
    tokens = []
    while True:
        frame = await receive(socket)
        assert frame["type"] == "text", frame
        tokens.append(frame["token"])
        if frame["last"]:
            return tokens


async def say(socket: WebsocketCommunicator, text: str) -> str:
    await socket.send_json_to({"type": "say", "text": text})
    return "".join(await answer(socket)).strip()


async def start_call(socket: WebsocketCommunicator, caller: str = "+15555550123") -> dict:
    await socket.send_json_to({"type": "start", "caller": caller})
    started = await receive(socket)
    assert started["type"] == "started"
    assert (
        "".join(await answer(socket)) == "Hello, thanks for calling Demo Salon. How can I help you?"
    )
    return started


@database_sync_to_async
def the_call(sid: str) -> Call:
    return Call.objects.select_related("booking").get(sid=sid)


@database_sync_to_async
def turns_of(call: Call) -> list[tuple[str, str]]:
    return list(CallTurn.objects.filter(call=call).values_list("speaker", "text"))


# -- Who may open the socket ----------------------------------------------------------------


async def test_staff_with_business_permission_is_let_in(staff_cookie):
    socket, connected = await open_socket(staff_cookie)
    assert connected
    await socket.disconnect()


async def test_superuser_is_let_in(db):
    boss = await database_sync_to_async(User.objects.create_superuser)("boss", "", "x")
    socket, connected = await open_socket(await database_sync_to_async(session_cookie)(boss))
    assert connected
    await socket.disconnect()


async def test_anonymous_is_refused():
    _, connected = await open_socket(None)
    assert not connected


@pytest.mark.parametrize(
    "staff, perms",
    [
        (False, SIMULATING),
        (True, ()),
        (True, ("view_booking", "view_call")),
        (True, LOOKING_ONLY),
        (True, (*LOOKING_ONLY, "add_booking")),
        (True, (*LOOKING_ONLY, "change_booking")),
    ],
    ids=[
        "not-staff",
        "staff-without-permissions",
        "staff-without-business-permission",
        "staff-who-may-only-look",
        "staff-who-may-not-change-bookings",
        "staff-who-may-not-add-bookings",
    ],
)
async def test_users_who_cannot_see_businesses_are_refused(staff, perms):
    cookie = await database_sync_to_async(
        lambda: session_cookie(make_user("someone", staff=staff, perms=perms))
    )()
    _, connected = await open_socket(cookie)
    assert not connected


async def test_inactive_staff_is_refused(front_desk, staff_cookie):
    await User.objects.filter(pk=front_desk.pk).aupdate(is_active=False)
    _, connected = await open_socket(staff_cookie)
    assert not connected


@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"http://127.0.0.1.evil.example",
        b"https://127.0.0.1:9",
        b"http://127.0.0.1:9",
        b"https://127.0.0.1:8000",
        b"http://127.0.0.1",
        b"http://localhost:8000",
        b"null",
        b"http://127.0.0.1:8000:1",
    ],
)
async def test_foreign_origin_is_refused_even_with_a_staff_session(staff_cookie, origin):
    _, connected = await open_socket(staff_cookie, origin=origin)
    assert not connected


async def test_the_pages_own_origin_is_let_in_however_it_was_reached(front_desk):
    cookie = await database_sync_to_async(session_cookie)(front_desk)
    headers = [(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000")]
    socket = WebsocketCommunicator(application, PATH, headers=[*headers, (b"cookie", cookie)])
    assert (await socket.connect(timeout=5))[0]
    await socket.disconnect()


async def test_missing_origin_is_refused(staff_cookie):
    _, connected = await open_socket(staff_cookie, origin=None)
    assert not connected


# -- A call through the socket --------------------------------------------------------------


async def test_booking_conversation_streams_answers_and_ends_with_the_booking(staff_cookie):
    socket, _ = await open_socket(staff_cookie)
    started = await start_call(socket)
    assert started["call_sid"].startswith("SIM")
    call = await the_call(started["call_sid"])
    assert started["call_admin_url"] == f"/admin/calls/call/{call.pk}/change/"

    assert "number you're calling from" in await say(
        socket, "Hi, this is Maria, can I get a haircut tomorrow at 3?"
    )
    assert await say(socket, "yes") == (
        "A haircut for Maria on Thursday, November 26th at 3 PM. Shall I book it?"
    )
    await socket.send_json_to({"type": "say", "text": "yes please"})
    tokens = await answer(socket)
    assert len([t for t in tokens if t]) > 1, "the answer streams in clauses"
    assert "You're all set, Maria" in "".join(tokens)

    end = await receive(socket)
    booking = await Booking.objects.select_related("service").aget()
    assert end == {
        "type": "end",
        "handoff": {"reason": "booked"},
        "outcome": "booked",
        "outcome_label": "Booked",
        "call_admin_url": f"/admin/calls/call/{call.pk}/change/",
        "booking": {
            "id": booking.pk,
            "service": "Haircut",
            "date": "Thursday, November 26, 2026",
            "time": "3:00 PM",
            "timezone": "EST",
            "start_local": "2026-11-26T15:00:00-05:00",
            "name": "Maria",
            "phone": "+15555550123",
            "status": "confirmed",
            "admin_url": f"/admin/bookings/booking/{booking.pk}/change/",
        },
    }
    call = await the_call(started["call_sid"])
    assert (call.channel, call.outcome, call.booking_id) == ("simulator", "booked", booking.pk)
    assert call.from_number == "+15555550123"
    turns = await turns_of(call)
    assert turns[0] == ("receptionist", GREETING)
    assert ("caller", "Hi, this is Maria, can I get a haircut tomorrow at 3?") in turns
    assert ("caller", "yes please") in turns
    await socket.disconnect()


async def test_malformed_frames_get_errors_and_the_call_goes_on(staff_cookie):
    socket, _ = await open_socket(staff_cookie)
    await socket.send_json_to({"type": "say", "text": "hello"})
    assert await receive(socket) == {"type": "error", "message": "Start a call first."}
    await start_call(socket)

    for bad in ["not json", "[1, 2]", json.dumps({"type": "dance"}), json.dumps({"type": "say"})]:
        await socket.send_to(text_data=bad)
        assert (await receive(socket))["type"] == "error"
    await socket.send_json_to({"type": "say", "text": "   "})
    assert (await receive(socket))["message"] == "'say' needs some text."
    await socket.send_json_to({"type": "say", "text": "x" * 1001})
    assert (await receive(socket))["type"] == "error"
    await socket.send_to(bytes_data=b"\x00\x01")
    assert (await receive(socket))["message"] == "Frames are JSON text, not binary."
    await socket.send_json_to({"type": "start", "caller": "+15555550123"})
    assert (await receive(socket))["message"] == "A call is already in progress; hang up first."

    assert "What day and time" in await say(socket, "a beard trim please")
    await socket.disconnect()


async def test_hanging_up_ends_the_call_as_abandoned(staff_cookie):
    socket, _ = await open_socket(staff_cookie)
    started = await start_call(socket)
    await say(socket, "a haircut please")
    await socket.send_json_to({"type": "hangup"})
    end = await receive(socket)
    assert (end["type"], end["handoff"], end["outcome"], end["booking"]) == (
        "end",
        {"reason": "hangup"},
        "abandoned",
        None,
    )
    call = await the_call(started["call_sid"])
    assert call.outcome == "abandoned" and call.ended_at is not None

    await socket.send_json_to({"type": "say", "text": "hello?"})
    assert (await receive(socket))["message"] == "The call has ended; start a new one."
    second = await start_call(socket)
    assert second["call_sid"] != started["call_sid"]
    await socket.disconnect()


async def test_closing_the_page_mid_call_records_it_as_abandoned(staff_cookie):
    socket, _ = await open_socket(staff_cookie)
    started = await start_call(socket)
    await say(socket, "a haircut please")
    await socket.disconnect()
    call = await the_call(started["call_sid"])
    assert call.outcome == "abandoned" and call.ended_at is not None


async def test_each_trial_without_a_typed_number_calls_from_a_fresh_test_number(staff_cookie):
    socket, _ = await open_socket(staff_cookie)
    first = await start_call(socket, caller="")
    await socket.send_json_to({"type": "hangup"})
    assert (await receive(socket))["type"] == "end"
    second = await start_call(socket, caller="")
    await socket.send_json_to({"type": "hangup"})
    assert (await receive(socket))["type"] == "end"
    await socket.disconnect()

    for started in (first, second):
        assert re.fullmatch(r"\+1[2-9]\d\d55501\d\d", started["caller"])
        assert (await the_call(started["call_sid"])).from_number == started["caller"]
    assert first["caller"] != second["caller"]


async def test_a_typed_number_is_the_caller_id(staff_cookie):
    socket, _ = await open_socket(staff_cookie)
    started = await start_call(socket, caller="+15555550177")
    await socket.disconnect()
    assert started["caller"] == "+15555550177"
    assert (await the_call(started["call_sid"])).from_number == "+15555550177"


async def test_an_inactive_business_does_not_take_the_call(staff_cookie):
    await acreate(BusinessFactory, slug="closed-salon", is_active=False)
    socket, _ = await open_socket(staff_cookie, path="/ws/simulator/closed-salon/")
    await socket.send_json_to({"type": "start", "caller": ""})
    assert "isn't taking calls" in "".join(await answer(socket))
    end = await receive(socket)
    assert (end["type"], end["handoff"], end["outcome"]) == ("end", {"reason": "unavailable"}, None)
    await socket.disconnect()


# -- The page -------------------------------------------------------------------------------


def test_page_for_staff_offers_the_active_businesses_with_demo_first(front_desk):
    client = Client()
    client.force_login(front_desk)
    page = client.get("/simulator/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="demo" selected>Demo Salon</option>' in html
    assert 'data-socket-path="/ws/simulator/"' in html
    assert 'id="caller" name="caller" type="tel" value=""' in html
    assert "a new test number each call" in html


def test_page_sends_anonymous_visitors_to_the_admin_login():
    page = Client().get("/simulator/")
    assert page.status_code == 302
    assert page.url == "/admin/login/?next=/simulator/"


@pytest.mark.parametrize("perms", [(), LOOKING_ONLY], ids=["no-permissions", "may-only-look"])
def test_page_is_forbidden_to_staff_who_may_not_book(perms):
    client = Client()
    client.force_login(make_user("intern", perms=perms))
    assert client.get("/simulator/").status_code == 403


def test_page_says_a_real_customers_number_needs_consent(front_desk):
    client = Client()
    client.force_login(front_desk)
    html = client.get("/simulator/").content.decode()
    assert '<input id="as-customer" name="as_customer" type="checkbox">' in html
    assert "I am calling as this customer" in html
    assert "real customer's number" in html


# -- Acting as a real customer only on purpose ---------------------------------------------


@database_sync_to_async
def a_real_booking(phone: str, *, source_call_sid: str = "") -> Booking:
    demo = Business.objects.get(slug="demo")
    return Booking.objects.create(
        business=demo,
        service=demo.services.get(name="Haircut"),
        customer_name="Rosa",
        customer_phone=phone,
        start=datetime(2026, 11, 27, 11, tzinfo=ZoneInfo("America/New_York")),
        end=datetime(2026, 11, 27, 11, 30, tzinfo=ZoneInfo("America/New_York")),
        provider="native",
        source_call_sid=source_call_sid,
    )


async def test_a_real_customers_number_is_refused_without_consent(staff_cookie):
    rosa = await a_real_booking("+15555550166")
    socket, _ = await open_socket(staff_cookie)
    await socket.send_json_to({"type": "start", "caller": "+1 555 555 0166"})
    refused = await receive(socket)
    assert refused["type"] == "error"
    assert "real customer's number" in refused["message"]
    assert "I am calling as this customer" in refused["message"]
    assert not await Call.objects.filter(channel="simulator").aexists()

    # Trying anyway to cancel through an un-started call does nothing either.
    await socket.send_json_to({"type": "say", "text": "cancel my appointment"})
    assert (await receive(socket))["message"] == "Start a call first."
    await rosa.arefresh_from_db()
    assert rosa.status == Booking.Status.CONFIRMED
    await socket.disconnect()


async def test_calling_as_the_customer_on_purpose_reaches_their_bookings(staff_cookie):
    rosa = await a_real_booking("+15555550166")
    socket, _ = await open_socket(staff_cookie)
    await socket.send_json_to({"type": "start", "caller": "+15555550166", "as_customer": True})
    assert (await receive(socket))["type"] == "started"
    await answer(socket)  # the greeting
    assert "Shall I cancel it?" in await say(socket, "I need to cancel my appointment")
    await say(socket, "yes")
    await rosa.arefresh_from_db()
    assert rosa.status == Booking.Status.CANCELLED
    await socket.disconnect()


async def test_a_number_with_only_simulated_bookings_needs_no_consent(staff_cookie):
    await a_real_booking("+15555550166", source_call_sid="SIM" + "0" * 32)
    socket, _ = await open_socket(staff_cookie)
    await start_call(socket, caller="+15555550166")
    await socket.disconnect()


def test_admin_index_links_to_the_simulator(front_desk):
    client = Client()
    client.force_login(front_desk)
    html = client.get("/admin/").content.decode()
    assert "Try the receptionist" in html
    assert '<a href="/simulator/">Open the call simulator</a>' in html


def test_admin_index_renders_whether_or_not_the_project_routes_the_simulator(front_desk):
    client = Client()
    client.force_login(front_desk)
    page = client.get("/admin/")
    assert page.status_code == 200
