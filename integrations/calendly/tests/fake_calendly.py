"""A loopback fake of the Calendly endpoints we use, for our real HTTP client.

    with FakeCalendly() as calendly:
        for name, value in calendly.settings().items(): ...   # CALENDLY_* pointing here
        haircut = calendly.add_event_type("Haircut", 30)
        tokens = calendly.issue_tokens()                      # as after consent
        calendly.invitees()                                   # who was booked, with what email

What it serves on 127.0.0.1:<free port>, in Calendly's documented shapes (fixtures/*.json):

- OAuth (auth.calendly.com): GET /oauth/authorize redirects straight back to `redirect_uri`
  with a one-use code bound to the client, the redirect URI and the PKCE S256 challenge;
  POST /oauth/token (client id and secret as HTTP Basic) for authorization_code and
  refresh_token grants, refresh tokens single-use (rotated), anything stale -> 400
  invalid_grant; POST /oauth/revoke.
- API v2 (api.calendly.com): GET /users/me, GET /event_types?user=, GET
  /event_type_available_times (event_type, start_time in the future, a range of at most
  MAX_RANGE), POST /invitees (the time must be available; email and timezone required),
  POST /scheduled_events/{uuid}/cancellation. A bearer token that is not live -> 401.

Availability: each event type is offered on the host's working hours (`hours`, in `zone`)
every `increment` minutes, minus the host's active scheduled events (any event type).

Faults per test: `fail(path_prefix, status, times=..., retry_after=...)`, `hang(path_prefix)`,
`latency` / `token_latency` on every answer.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

FIXTURES = Path(__file__).parent / "fixtures"
CLIENT_ID = "fake-calendly-client-id"
CLIENT_SECRET = "fake-calendly-client-secret"
# Calendly's original documented limit (31 days since July 2026): the stricter one, so our
# windowing is exercised.
MAX_RANGE = timedelta(days=7)
ACCESS_LIFETIME = 7200


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def calendly_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def api_error(title: str, message: str, *, parameter: str = "", detail: str = "") -> dict:
    body = fixture("api_error.json")
    body["title"], body["message"] = title, message
    body["details"] = [{"parameter": parameter, "message": detail}] if parameter else []
    return body


def _uuid() -> str:
    return secrets.token_hex(8).upper()


@dataclass
class Fault:
    path_prefix: str
    status: int
    times: int
    retry_after: int | None = None
    hang: bool = False


@dataclass
class Grant:
    refresh_token: str
    scope: str
    revoked: bool = False


@dataclass
class ScheduledEvent:
    uuid: str
    event_type: str
    start: datetime
    end: datetime
    invitee: dict
    status: str = "active"
    cancellation: dict | None = None


@dataclass
class FakeEventType:
    resource: dict
    duration: int
    increment: int


@dataclass
class FakeCalendly:
    latency: float = 0.0
    token_latency: float = 0.0
    port: int = 0
    zone: str = "America/New_York"
    # Monday=0 -> (opens, closes) wall-clock hours of the host.
    hours: dict[int, tuple[int, int]] = field(
        default_factory=lambda: {d: (9, 18) for d in range(5)} | {5: (10, 16)}
    )
    user_name: str = "Demo Salon Owner"
    user_email: str = "owner@example.com"
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.event_types: dict[str, FakeEventType] = {}
        self.events: dict[str, ScheduledEvent] = {}
        self.grants: dict[str, Grant] = {}  # refresh token -> grant
        self.access: dict[str, tuple[Grant, float]] = {}  # access token -> (grant, expiry)
        self.codes: dict[str, dict] = {}
        self.faults: list[Fault] = []
        self.revoked_tokens: list[str] = []
        self.deny_consent = False
        self.user_uuid = _uuid()
        self.org_uuid = _uuid()
        self._server: ThreadingHTTPServer | None = None

    # -- Lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeCalendly:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeCalendly:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def user_uri(self) -> str:
        return f"{self.base_url}/users/{self.user_uuid}"

    @property
    def organization_uri(self) -> str:
        return f"{self.base_url}/organizations/{self.org_uuid}"

    def settings(self) -> dict:
        return {
            "CALENDLY_OAUTH_CLIENT_ID": CLIENT_ID,
            "CALENDLY_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
            "CALENDLY_AUTH_BASE_URL": self.base_url,
            "CALENDLY_API_BASE_URL": self.base_url,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables, for a server subprocess (plain http to this
        loopback fake is allowed with OAUTHLIB_INSECURE_TRANSPORT, as for the fake Google)."""
        return {
            **{key: str(value) for key, value in self.settings().items()},
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
        }

    # -- Test controls -------------------------------------------------------------------

    def add_event_type(self, name: str, duration: int, *, increment: int | None = None) -> str:
        resource = fixture("event_type.json")
        uri = f"{self.base_url}/event_types/{_uuid()}"
        resource.update(
            uri=uri,
            name=name,
            duration=duration,
            scheduling_url=f"https://calendly.com/fake/{name.lower().replace(' ', '-')}",
        )
        resource["profile"].update(name=self.user_name, owner=self.user_uri)
        with self.lock:
            self.event_types[uri] = FakeEventType(resource, duration, increment or duration)
        return uri

    def issue_tokens(self, *, expires_in: int = ACCESS_LIFETIME) -> dict:
        with self.lock:
            grant = Grant(refresh_token=secrets.token_hex(32), scope="default")
            self.grants[grant.refresh_token] = grant
            body = self._token_body(grant, expires_in)
        body["expires_at"] = datetime.now(UTC) + timedelta(seconds=expires_in)
        return body

    def book(self, event_type_uri: str, start: datetime, *, email: str = "x@example.com") -> str:
        """An invitee booked through Calendly's own page (not by us)."""
        with self.lock:
            event = self._schedule(event_type_uri, start, {"email": email, "name": "Someone"})
        return event.uuid

    def invitees(self, *, status: str = "active") -> list[dict]:
        with self.lock:
            return [
                dict(e.invitee, start=e.start, event_uuid=e.uuid)
                for e in self.events.values()
                if e.status == status
            ]

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access = {t: (g, 0.0) for t, (g, _) in self.access.items()}

    def invalidate_refresh_tokens(self) -> None:
        with self.lock:
            for grant in self.grants.values():
                grant.revoked = True

    def count(self, method: str, path_prefix: str = "") -> int:
        return sum(1 for m, p in list(self.requests) if m == method and p.startswith(path_prefix))

    def fail(self, path_prefix: str, status: int, *, times: int = 1, retry_after=None) -> None:
        self.faults.append(Fault(path_prefix, status, times, retry_after))

    def hang(self, path_prefix: str, *, times: int = 1) -> None:
        self.faults.append(Fault(path_prefix, 0, times, hang=True))

    def clear_faults(self) -> None:
        self.faults.clear()

    def available(self, event_type_uri: str, start: datetime, end: datetime) -> list[datetime]:
        with self.lock:
            return self._available(self.event_types[event_type_uri], start, end)

    # -- Behaviour -----------------------------------------------------------------------

    def _token_body(self, grant: Grant, expires_in: int) -> dict:
        access = secrets.token_hex(24)
        self.access[access] = (grant, time.time() + expires_in)
        body = fixture("token_response.json")
        body.update(
            access_token=access,
            refresh_token=grant.refresh_token,
            created_at=int(time.time()),
            expires_in=expires_in,
            scope=grant.scope,
            owner=self.user_uri,
            organization=self.organization_uri,
        )
        return body

    def _available(self, kind: FakeEventType, start: datetime, end: datetime) -> list[datetime]:
        tz = ZoneInfo(self.zone)
        busy = [(e.start, e.end) for e in self.events.values() if e.status == "active"]
        now = datetime.now(UTC)
        found: list[datetime] = []
        day: date = start.astimezone(tz).date()
        while datetime.combine(day, datetime.min.time(), tzinfo=tz) < end:
            if day.weekday() in self.hours:
                opens, closes = self.hours[day.weekday()]
                slot = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(
                    hours=opens
                )
                closing = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(
                    hours=closes
                )
                length = timedelta(minutes=kind.duration)
                while slot + length <= closing:
                    clash = any(b0 < slot + length and slot < b1 for b0, b1 in busy)
                    if start <= slot < end and slot > now and not clash:
                        found.append(slot.astimezone(UTC))
                    slot += timedelta(minutes=kind.increment)
            day += timedelta(days=1)
        return found

    def _schedule(self, event_type_uri: str, start: datetime, invitee: dict) -> ScheduledEvent:
        kind = self.event_types[event_type_uri]
        event = ScheduledEvent(
            uuid=_uuid(),
            event_type=event_type_uri,
            start=start.astimezone(UTC),
            end=start.astimezone(UTC) + timedelta(minutes=kind.duration),
            invitee=invitee,
        )
        self.events[event.uuid] = event
        return event

    # -- Endpoints (each returns status, body) ---------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect:
            return 400, {}, "unknown client"
        params = {"state": query.get("state", "")}
        if self.deny_consent:
            params["error"] = "access_denied"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            params["error"] = "invalid_request"
        else:
            code = secrets.token_hex(32)
            self.codes[code] = {
                "redirect_uri": redirect,
                "challenge": query["code_challenge"],
                "scope": query.get("scope") or "default",
                "expires": time.time() + 600,
            }
            params["code"] = code
        return 302, {"Location": f"{redirect}?{urlencode(params)}"}, ""

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != f"Basic {expected}":
            return 401, {"error": "invalid_client", "error_description": "Client auth failed."}
        invalid = fixture("token_error.json")
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                entry = self.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if (
                    entry is None
                    or entry["expires"] < time.time()
                    or entry["redirect_uri"] != form.get("redirect_uri")
                    or entry["challenge"] != challenge
                ):
                    return 400, invalid
                grant = Grant(refresh_token=secrets.token_hex(32), scope=entry["scope"])
                self.grants[grant.refresh_token] = grant
                return 200, self._token_body(grant, ACCESS_LIFETIME)
            if form.get("grant_type") == "refresh_token":
                grant = self.grants.pop(form.get("refresh_token", ""), None)
                if grant is None or grant.revoked:
                    return 400, invalid
                # Single-use refresh tokens: each refresh rotates it.
                grant.refresh_token = secrets.token_hex(32)
                self.grants[grant.refresh_token] = grant
                return 200, self._token_body(grant, ACCESS_LIFETIME)
        return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported."}

    def revoke(self, form: dict[str, str]) -> tuple[int, dict]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 403, {"error": "invalid_client", "error_description": "Client auth failed."}
        token = form.get("token", "")
        with self.lock:
            grant = self.grants.get(token) or (self.access.get(token) or (None, 0))[0]
            if grant is None:
                return 400, {"error": "invalid_request", "error_description": "Unknown token."}
            grant.revoked = True
            self.revoked_tokens.append(token)
        return 200, {}

    def api(self, method: str, path: str, query: dict, body: dict, auth: str) -> tuple[int, dict]:
        token = auth.removeprefix("Bearer ")
        with self.lock:
            grant, expiry = self.access.get(token, (None, 0.0))
            if grant is None or grant.revoked or expiry < time.time():
                return 401, api_error("Unauthenticated", "The access token is invalid")
            if method == "GET" and path == "/users/me":
                user = fixture("user.json")
                user["resource"].update(
                    uri=self.user_uri,
                    name=self.user_name,
                    email=self.user_email,
                    timezone=self.zone,
                    current_organization=self.organization_uri,
                )
                return 200, user
            if method == "GET" and path == "/event_types":
                if query.get("user") != self.user_uri and query.get("organization") is None:
                    return 400, api_error(
                        "Invalid Argument",
                        "The supplied parameters are invalid.",
                        parameter="user",
                        detail="is invalid",
                    )
                page = fixture("event_types_page.json")
                page["collection"] = [copy.deepcopy(k.resource) for k in self.event_types.values()]
                page["pagination"]["count"] = len(page["collection"])
                return 200, page
            if method == "GET" and path == "/event_type_available_times":
                return self._available_times(query)
            if method == "POST" and path == "/invitees":
                return self._create_invitee(body)
            parts = path.strip("/").split("/")
            if (
                method == "POST"
                and len(parts) == 3
                and parts[::2] == ["scheduled_events", "cancellation"]
            ):
                return self._cancel(parts[1], body)
        return 404, api_error(
            "Resource Not Found", "The server could not find the requested resource."
        )

    def _available_times(self, query: dict[str, str]) -> tuple[int, dict]:
        kind = self.event_types.get(query.get("event_type", ""))
        if kind is None:
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="event_type",
                detail="is invalid",
            )
        try:
            start, end = parse_time(query["start_time"]), parse_time(query["end_time"])
        except (KeyError, ValueError):
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="start_time",
                detail="is invalid",
            )
        if start < datetime.now(UTC):
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="start_time",
                detail="must be in the future",
            )
        if end <= start or end - start > MAX_RANGE:
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="end_time",
                detail="date range can be no greater than 1 week (7 days)",
            )
        collection = []
        for moment in self._available(kind, start, end):
            item = fixture("available_time.json")
            item.update(
                start_time=calendly_time(moment),
                scheduling_url=f"{kind.resource['scheduling_url']}/{calendly_time(moment)}",
            )
            collection.append(item)
        return 200, {"collection": collection}

    def _create_invitee(self, body: dict) -> tuple[int, dict]:
        kind = self.event_types.get(body.get("event_type", ""))
        invitee = body.get("invitee") or {}
        if kind is None:
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="event_type",
                detail="is invalid",
            )
        for name in ("email", "timezone"):
            if not invitee.get(name):
                return 400, api_error(
                    "Invalid Argument",
                    "The supplied parameters are invalid.",
                    parameter=f"invitee.{name}",
                    detail="is required",
                )
        if not (invitee.get("name") or invitee.get("first_name")):
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="invitee.name",
                detail="is required",
            )
        try:
            start = parse_time(body.get("start_time", ""))
        except ValueError:
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="start_time",
                detail="is invalid",
            )
        if start.astimezone(UTC) not in self._available(kind, start, start + timedelta(minutes=1)):
            return 400, api_error(
                "Invalid Argument",
                "The supplied parameters are invalid.",
                parameter="start_time",
                detail="is not available",
            )
        event = self._schedule(body["event_type"], start, dict(invitee))
        resource = fixture("invitee.json")["resource"]
        invitee_uuid = _uuid()
        resource.update(
            uri=f"{self.base_url}/scheduled_events/{event.uuid}/invitees/{invitee_uuid}",
            email=invitee["email"],
            name=invitee.get("name") or invitee.get("first_name"),
            timezone=invitee["timezone"],
            event=f"{self.base_url}/scheduled_events/{event.uuid}",
            text_reminder_number=invitee.get("text_reminder_number"),
            created_at=calendly_time(datetime.now(UTC)),
            updated_at=calendly_time(datetime.now(UTC)),
        )
        event.invitee["uri"] = resource["uri"]
        return 201, {"resource": resource}

    def _cancel(self, uuid: str, body: dict) -> tuple[int, dict]:
        event = self.events.get(uuid)
        if event is None:
            return 404, api_error(
                "Resource Not Found", "The server could not find the requested resource."
            )
        if event.status == "canceled":
            return 403, api_error("Permission Denied", "Event is already canceled")
        event.status = "canceled"
        cancellation = fixture("cancellation.json")
        cancellation["resource"].update(
            canceled_by=self.user_name,
            reason=body.get("reason") or "",
            created_at=calendly_time(datetime.now(UTC)),
        )
        event.cancellation = cancellation["resource"]
        return 201, cancellation

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeCalendly
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.requests.append((method, parts.path))
        oauth = parts.path.startswith("/oauth/")
        time.sleep(fake.token_latency if parts.path == "/oauth/token" else fake.latency)
        fault = fake.take_fault(parts.path)
        if fault is not None:
            if fault.hang:
                time.sleep(30)
                return
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            body = (
                api_error("Too Many Requests", "Rate limit exceeded")
                if fault.status == 429
                else api_error(
                    "Internal Server Error",
                    "The server encountered an unexpected condition that prevented it from "
                    "fulfilling the request.",
                )
            )
            return self._reply(fault.status, body, headers)
        if method == "GET" and parts.path == "/oauth/authorize":
            status, headers, text = fake.authorize(query)
            return self._send(status, text.encode(), "text/plain", headers)
        if oauth:
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            if parts.path == "/oauth/token":
                return self._reply(*fake.token(form, self.headers.get("Authorization", "")))
            if parts.path == "/oauth/revoke":
                return self._reply(*fake.revoke(form))
            return self._reply(404, {"error": "not_found"})
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._reply(400, api_error("Invalid Argument", "Malformed JSON"))
        status, answer = fake.api(
            method, parts.path, query, body, self.headers.get("Authorization", "")
        )
        self._reply(status, answer)

    def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers or {})

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:
        pass  # tests read fake.requests; the console stays quiet
