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

import copy
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from integrations.calendar_base.tests.fake_oauth import (
    FakeHandler,
    FakeOAuthServer,
    Fault,
    Grant,
    basic_credentials,
    flat,
    redirect,
)

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


class FakeCalendly(FakeOAuthServer):
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    access_token_lifetime = ACCESS_LIFETIME
    invalidation_ends_access = True
    _single_use_refresh_tokens = True  # each refresh rotates it

    def __init__(
        self,
        *,
        latency: float = 0.0,
        token_latency: float = 0.0,
        port: int = 0,
        zone: str = "America/New_York",
        hours: dict[int, tuple[int, int]] | None = None,
        user_name: str = "Demo Salon Owner",
        user_email: str = "owner@example.com",
    ) -> None:
        super().__init__(latency=latency, token_latency=token_latency, port=port)
        self.zone = zone
        # Monday=0 -> (opens, closes) wall-clock hours of the host.
        self.hours = hours or {d: (9, 18) for d in range(5)} | {5: (10, 16)}
        self.user_name = user_name
        self.user_email = user_email
        self.event_types: dict[str, FakeEventType] = {}
        self.events: dict[str, ScheduledEvent] = {}
        self.revoked_tokens: list[str] = []
        self.user_uuid = _uuid()
        self.org_uuid = _uuid()

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
        return {**super().env(), "OAUTHLIB_INSECURE_TRANSPORT": "1"}

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
        with self._lock:
            self.event_types[uri] = FakeEventType(resource, duration, increment or duration)
        return uri

    def issue_tokens(self, *, expires_in: int = ACCESS_LIFETIME) -> dict:
        with self._lock:
            grant = self._new_grant(["default"])
            body = self._token_body(grant, expires_in)
        body["expires_at"] = datetime.now(UTC) + timedelta(seconds=expires_in)
        return body

    def book(self, event_type_uri: str, start: datetime, *, email: str = "x@example.com") -> str:
        """An invitee booked through Calendly's own page (not by us)."""
        with self._lock:
            event = self._schedule(event_type_uri, start, {"email": email, "name": "Someone"})
        return event.uuid

    def invitees(self, *, status: str = "active") -> list[dict]:
        with self._lock:
            return [
                dict(e.invitee, start=e.start, event_uuid=e.uuid)
                for e in self.events.values()
                if e.status == status
            ]

    def available(self, event_type_uri: str, start: datetime, end: datetime) -> list[datetime]:
        with self._lock:
            return self._available(self.event_types[event_type_uri], start, end)

    # -- Behaviour -----------------------------------------------------------------------

    def _new_access_token(self) -> str:
        return secrets.token_hex(24)

    def _new_refresh_token(self) -> str:
        return secrets.token_hex(32)

    def _token_body(self, grant: Grant, expires_in: int) -> dict:
        access = self._mint_access_token(grant, expires_in)
        body = fixture("token_response.json")
        body.update(
            access_token=access,
            refresh_token=grant.refresh_token,
            created_at=int(datetime.now(UTC).timestamp()),
            expires_in=expires_in,
            scope=" ".join(grant.scopes),
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
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect_uri:
            return 400, {}, "unknown client"
        params = {"state": query.get("state", "")}
        if self.deny_consent:
            params["error"] = "access_denied"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            params["error"] = "invalid_request"
        else:
            params["code"] = self._new_code(
                secrets.token_hex(32),
                redirect_uri=redirect_uri,
                scopes=[query.get("scope") or "default"],
                challenge=query["code_challenge"],
                challenge_method="S256",
            )
        return redirect(redirect_uri, params)

    def _refuse_client(self, form: dict[str, str], authorization: str) -> tuple[int, dict] | None:
        # A web app: client id and secret as HTTP Basic only.
        if basic_credentials(authorization) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client", "error_description": "Client auth failed."}
        return None

    def _exchange_code(self, form: dict[str, str]) -> tuple[int, dict]:
        code, _ = self._redeem_code(form)
        if code is None:
            return 400, fixture("token_error.json")
        return 200, self._token_body(self._new_grant(code.scopes), ACCESS_LIFETIME)

    def _refresh(self, form: dict[str, str]) -> tuple[int, dict]:
        grant = self._grant_to_refresh(form.get("refresh_token", ""), rotate=True)
        if grant is None:
            return 400, fixture("token_error.json")
        return 200, self._token_body(grant, ACCESS_LIFETIME)

    def revoke(self, form: dict[str, str]) -> tuple[int, dict]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 403, {"error": "invalid_client", "error_description": "Client auth failed."}
        token = form.get("token", "")
        with self._lock:
            grant = self._grant_of(token)
            if grant is None:
                return 400, {"error": "invalid_request", "error_description": "Unknown token."}
            grant.revoked = True
            self.revoked_tokens.append(token)
        return 200, {}

    def api(self, method: str, path: str, query: dict, body: dict, auth: str) -> tuple[int, dict]:
        with self._lock:
            if self._bearer(auth) is None:
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


class _Handler(FakeHandler):
    fake: FakeCalendly
    json_type = "application/json"

    def is_api(self, path: str) -> bool:
        return True  # `latency` delays every answer but the token endpoint's

    def reply_fault(self, fault: Fault, path: str) -> None:
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

    def route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> None:
        if path.startswith("/oauth/"):
            if method == "POST" and path == "/oauth/revoke":
                return self._reply(*self.fake.revoke(flat(parse_qs(raw.decode()))))
            return self._reply(404, {"error": "not_found"})
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._reply(400, api_error("Invalid Argument", "Malformed JSON"))
        status, answer = self.fake.api(
            method, path, query, body, self.headers.get("Authorization", "")
        )
        self._reply(status, answer)


FakeCalendly.handler = _Handler
