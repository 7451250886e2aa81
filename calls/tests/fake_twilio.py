"""A loopback fake of Twilio's Messages API (REST 2010-04-01), for the real twilio client.

    with FakeTwilio(account_sid=..., auth_token=...) as fake:
        settings.TWILIO_API_BASE_URL = fake.base_url
        ...
        fake.messages  # what Twilio would have accepted, oldest first

It checks HTTP Basic auth like Twilio (account SID + auth token), validates the form the way
the documented errors say, and answers with the documented JSON shapes (the templates in
fixtures/twilio_message_*.json). Faults are queued per test and consumed one request each:
`fail_next(500, after_storing=True)` is the ambiguous case (Twilio took the message but the
answer was an error), `after_storing=False` a clean 5xx, `reject_next(21211)` a definitive
400, `answer_slowly(seconds)` an answer that arrives after the client gave up.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
API = "/2010-04-01"
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-zA-Z]{32})/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Fault:
    status: int = 500
    after_storing: bool = False  # the message is kept although the answer is an error
    code: int | None = None
    delay: float = 0.0  # seconds before answering (the message is stored first)


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]
    authorized: bool
    headers: dict[str, str] = field(default_factory=dict)


class FakeTwilio:
    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []
        self.requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- Lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeTwilio:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # Don't wait for a deliberately slow answer when the test is over.
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first (with FakeTwilio(...) as fake)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- Faults, consumed one request each -------------------------------------------------

    def fail_next(self, status: int = 500, *, after_storing: bool = False, times: int = 1) -> None:
        self._queue(Fault(status=status, after_storing=after_storing), times)

    def reject_next(self, code: int = 21211, *, status: int = 400, times: int = 1) -> None:
        self._queue(Fault(status=status, code=code), times)

    def answer_slowly(self, seconds: float, *, times: int = 1) -> None:
        self._queue(Fault(status=201, delay=seconds), times)

    def _queue(self, fault: Fault, times: int) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    # -- The API -------------------------------------------------------------------------

    def create_message(self, form: dict[str, str]) -> tuple[int, dict]:
        to, sender = form.get("To", ""), form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if not E164.match(to):
            return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if not (sender or service):
            return 400, _error(21603, "A 'From' phone number is required.", 400)
        if not form.get("Body"):
            return 400, _error(21602, "Message body is required.", 400)
        now = datetime.now(UTC)
        sid = "SM" + secrets.token_hex(16)
        message = copy.deepcopy(fixture("twilio_message_created.json"))
        account = f"{API}/Accounts/{self.account_sid}"
        message.update(
            {
                "account_sid": self.account_sid,
                "body": form["Body"],
                "date_created": format_datetime(now),
                "date_updated": format_datetime(now),
                "date_sent": None,
                "from": sender or None,
                "messaging_service_sid": service or None,
                "num_segments": str(_segments(form["Body"])),
                "sid": sid,
                "status": "queued" if sender else "accepted",
                "subresource_uris": {"media": f"{account}/Messages/{sid}/Media.json"},
                "to": to,
                "uri": f"{account}/Messages/{sid}.json",
            }
        )
        # What a later GET shows: Twilio has sent it by then.
        stored = {**message, "status": "sent", "date_sent": format_datetime(now)}
        stored["_created"] = now
        with self._lock:
            self.messages.append(stored)
        return 201, message

    def list_messages(self, query: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            found = [m for m in reversed(self.messages) if _matches(m, query)]  # newest first
        page_size = min(int(query.get("PageSize", 50)), 1000)
        page = int(query.get("Page", 0))
        chunk = found[page * page_size : (page + 1) * page_size]
        account = f"{API}/Accounts/{self.account_sid}"
        filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            params = urlencode({**filters, "PageSize": page_size, "Page": number})
            return f"{account}/Messages.json?{params}"

        body = copy.deepcopy(fixture("twilio_message_list.json"))
        has_next = (page + 1) * page_size < len(found)
        body.update(
            {
                "messages": [_public(m) for m in chunk],
                "start": page * page_size,
                "end": page * page_size + max(len(chunk) - 1, 0),
                "page": page,
                "page_size": page_size,
                "first_page_uri": page_uri(0),
                "previous_page_uri": page_uri(page - 1) if page else None,
                "next_page_uri": page_uri(page + 1) + "&PageToken=PA" + str(page + 1)
                if has_next
                else None,
                "uri": page_uri(page),
            }
        )
        return 200, body


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwilio

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = _flat(parse_qs(self.rfile.read(length).decode()))
        self._handle("POST", form)

    def do_GET(self) -> None:
        self._handle("GET", _flat(parse_qs(urlsplit(self.path).query)))

    def _handle(self, method: str, params: dict[str, str]) -> None:
        fake = self.fake
        path = urlsplit(self.path).path
        authorized = self._authorized()
        fake.requests.append(
            RecordedRequest(method, path, params, authorized, headers=dict(self.headers))
        )
        route = MESSAGES_PATH.match(path)
        if not authorized:
            return self._reply(401, fixture("twilio_message_error_20003.json"))
        if route is None or route["account"] != fake.account_sid:
            return self._reply(404, _error(20404, f"The requested resource {path} was not found"))
        if method == "GET":
            return self._reply(*fake.list_messages(params))

        fault = fake._next_fault()
        if fault and fault.code is not None:
            return self._reply(fault.status, _rejection(fault.code, fault.status, params))
        if fault and fault.status >= 500 and not fault.after_storing:
            return self._reply(fault.status, _error(20500, "Internal Server Error", fault.status))
        status, body = fake.create_message(params)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status >= 500:
            return self._reply(fault.status, _error(20500, "Internal Server Error", fault.status))
        return self._reply(status, body)

    def _authorized(self) -> bool:
        expected = f"{self.fake.account_sid}:{self.fake.auth_token}".encode()
        header = self.headers.get("Authorization", "")
        return header == "Basic " + base64.b64encode(expected).decode()

    def _reply(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); Twilio would not notice either

    def log_message(self, format: str, *args) -> None:
        pass  # quiet test output


def _flat(parsed: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in parsed.items()}


def _error(code: int, message: str, status: int = 400) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _rejection(code: int, status: int, params: dict[str, str]) -> dict:
    if code == 21211:
        body = fixture("twilio_message_error_21211.json")
        body["message"] = f"The 'To' number {params.get('To', '')} is not a valid phone number."
        return body
    return _error(code, f"Rejected with error {code}.", status)


def _segments(body: str) -> int:
    # GSM-7: 160 characters in one segment, 153 per segment once concatenated.
    return 1 if len(body) <= 160 else -(-len(body) // 153)


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _matches(message: dict, query: dict[str, str]) -> bool:
    if "To" in query and message["to"] != query["To"]:
        return False
    if "From" in query and message["from"] != query["From"]:
        return False
    sent = message["_created"]
    for key, keep in (
        ("DateSent", lambda a, b: a.date() == b.date()),
        ("DateSent>", lambda a, b: a >= b),
        ("DateSent<", lambda a, b: a <= b),
    ):
        if key in query and not keep(sent, _parse_date(query[key])):
            return False
    return True


def _parse_date(value: str) -> datetime:
    # Twilio takes YYYY-MM-DD; the python client sends YYYY-MM-DDTHH:MM:SSZ.
    fmt = "%Y-%m-%dT%H:%M:%SZ" if "T" in value else "%Y-%m-%d"
    return datetime.strptime(value, fmt).replace(tzinfo=UTC)
