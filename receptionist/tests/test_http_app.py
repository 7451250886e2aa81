"""Django's HTTP handling under Daphne (receptionist/http_app.py): one hop per request."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlencode

import pytest
from channels.testing import HttpCommunicator
from django.core.signals import request_finished, request_started
from django.db import connections
from django.http import StreamingHttpResponse

from bookings.tests.factories import BusinessFactory, acreate
from calls.tests.test_webhooks import AUTH_TOKEN, BUSINESS_NUMBER, payload, sign
from integrations.calendar_base.off_loop import off_loop
from receptionist.http_app import OneHopASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


async def get(app: OneHopASGIHandler, path: str) -> dict:
    communicator = HttpCommunicator(app, "GET", path, headers=[(b"host", b"testserver")])
    response = await communicator.get_response(timeout=10)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    return response


@pytest.fixture
def threads_seen():
    """The thread each request_started / request_finished ran on, in order."""
    seen: list[tuple[str, threading.Thread]] = []

    def started(**kwargs) -> None:
        seen.append(("started", threading.current_thread()))

    def finished(**kwargs) -> None:
        seen.append(("finished", threading.current_thread()))

    request_started.connect(started, dispatch_uid="test-http-app-started")
    request_finished.connect(finished, dispatch_uid="test-http-app-finished")
    yield seen
    request_started.disconnect(dispatch_uid="test-http-app-started")
    request_finished.disconnect(dispatch_uid="test-http-app-finished")


class Watched(OneHopASGIHandler):
    """Notes whether the request's thread still holds a database connection once its
    response is closed (request_finished), before run_blocking's own clean-up."""

    def __init__(self) -> None:
        super().__init__()
        self.held_after: list[bool] = []

    def _respond(self, scope, body_file):
        response = super()._respond(scope, body_file)
        self.held_after.append(connections["default"].connection is not None)
        return response


async def test_a_request_is_handled_on_one_pooled_thread_that_lives_on(threads_seen):
    app = Watched()

    first = await get(app, "/healthz")
    second = await get(app, "/healthz")

    assert (first["status"], second["status"]) == (200, 200)  # it read the database
    assert [what for what, _ in threads_seen] == ["started", "finished"] * 2
    threads = {thread for _, thread in threads_seen}
    assert threading.main_thread() not in threads  # the sync work is off the event loop
    # No thread started for a request and stopped after it (Django's ThreadSensitiveContext
    # does that, with a new database connection wrapper each time).
    assert all(thread.is_alive() for thread in threads)
    if connections["default"].vendor == "postgresql":
        # Pooled (CONN_MAX_AGE = 0): each request hands its connection back to the pool.
        assert app.held_after == [False, False]
    else:
        # SQLite keeps one connection per thread for good (CONN_MAX_AGE = None).
        assert app.held_after == [True, True]


class Streaming(OneHopASGIHandler):
    def get_response(self, request):
        return StreamingHttpResponse(iter([b"one ", b"two"]))


async def test_a_streamed_response_is_closed_once_it_has_been_sent(threads_seen):
    communicator = HttpCommunicator(Streaming(), "GET", "/anything")
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while (message := await communicator.receive_output(timeout=10)).get("more_body"):
        body += message["body"]
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)

    assert (start["status"], body) == (200, b"one two")
    assert [what for what, _ in threads_seen] == ["started", "finished"]


async def test_an_incoming_call_is_answered_while_calendar_calls_hang(settings):
    """A calendar outage leaves calendar calls' threads running past their budget: they must
    not take the threads Twilio's webhooks run on."""
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    await acreate(BusinessFactory, slug="bright-cuts", phone_number=BUSINESS_NUMBER)
    release = threading.Event()
    # More than the event loop's default pool ever has (min(32, cores + 4)).
    hung = [
        asyncio.ensure_future(
            off_loop(lambda: release.wait(60), budget=60, what="free/busy", service="Google")
        )
        for _ in range(40)
    ]
    try:
        await asyncio.sleep(0.2)  # the calendar calls have their threads
        path = "/voice/incoming/bright-cuts/"
        form = payload("incoming_call")
        communicator = HttpCommunicator(
            OneHopASGIHandler(),
            "POST",
            path,
            body=urlencode(form).encode(),
            headers=[
                (b"host", b"testserver"),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"x-twilio-signature", sign(settings.PUBLIC_BASE_URL + path, form).encode()),
            ],
        )
        response = await communicator.get_response(timeout=10)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=10)

        assert response["status"] == 200 and b"<ConversationRelay" in response["body"]
        assert not any(call.done() for call in hung)  # answered while they still hang
    finally:
        release.set()
        await asyncio.gather(*hung)
