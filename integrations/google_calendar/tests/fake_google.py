"""A loopback fake of the Google endpoints we use, for the real google libraries.

    with FakeGoogle() as google:
        settings.GOOGLE_... = ...            # or: for k, v in google.settings().items(): ...
        tokens = google.issue_tokens()       # a refresh + access token pair, as after consent
        google.add_event("primary", start, end)
        ...
        google.count("POST", "/token")       # how many token requests the code under test made

What it serves, on 127.0.0.1:<free port>, in Google's documented shapes (the templates in
fixtures/*.json):

- OAuth consent (`auth_uri`): redirects straight back to `redirect_uri` with a one-use code
  (or `error=access_denied` when `deny_consent` is set). The code is bound to the client, the
  redirect URI and the PKCE challenge, as at Google.
- Token endpoint (`token_uri`): authorization_code and refresh_token grants; a revoked or
  invalidated refresh token, a reused code or a wrong PKCE verifier -> 400 `invalid_grant`.
- Revoke endpoint (`revoke_uri`): revokes the token's whole grant (refresh and access tokens).
- Calendar API v3 under `calendar_endpoint`: freeBusy, calendarList list/get, events
  insert/get/delete. Requests need `Authorization: Bearer <live access token>` with a scope
  that allows the call, else 401 `authError` / 403 `insufficientPermissions`.

Faults are switchable per test: `fail(path_prefix, status, reason=..., times=..., retry_after=...)`
answers the next matching requests with a Google error body, `hang(path_prefix)` never
answers (until the client gives up), `latency`/`token_latency` delay every answer.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

from integrations.calendar_base.tests.fake_oauth import (
    FakeHandler,
    FakeOAuthServer,
    Fault,
    basic_credentials,
    flat,
    redirect,
)

FIXTURES = Path(__file__).parent / "fixtures"

AUTH_PATH = "/o/oauth2/auth"
TOKEN_PATH = "/token"
REVOKE_PATH = "/revoke"
CALENDAR_PATH = "/calendar/v3/"

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
FREEBUSY_SCOPES = {
    SCOPE_PREFIX + s for s in ("calendar", "calendar.readonly", "calendar.freebusy")
} | {SCOPE_PREFIX + "calendar.events.freebusy"}
EVENTS_WRITE_SCOPES = {
    SCOPE_PREFIX + s for s in ("calendar", "calendar.events", "calendar.events.owned")
}
EVENTS_READ_SCOPES = EVENTS_WRITE_SCOPES | {
    SCOPE_PREFIX + s
    for s in ("calendar.readonly", "calendar.events.readonly", "calendar.events.owned.readonly")
}
CALENDAR_LIST_SCOPES = {
    SCOPE_PREFIX + s
    for s in (
        "calendar",
        "calendar.readonly",
        "calendar.calendarlist",
        "calendar.calendarlist.readonly",
    )
}

# Google's freeBusy refuses long ranges ("timeRangeTooLong"); callers chunk at 90 days.
MAX_FREEBUSY_RANGE = timedelta(days=90)
MAX_FREEBUSY_CALENDARS = 50
BASE32HEX_ID = re.compile(r"^[a-v0-9]{5,1024}$")

_CALENDAR_ROUTES = [
    ("POST", re.compile(r"^freeBusy$"), "free_busy"),
    ("GET", re.compile(r"^users/me/calendarList$"), "calendar_list"),
    ("GET", re.compile(r"^users/me/calendarList/(?P<calendar>[^/]+)$"), "calendar_list_get"),
    ("POST", re.compile(r"^calendars/(?P<calendar>[^/]+)/events$"), "insert_event"),
    ("GET", re.compile(r"^calendars/(?P<calendar>[^/]+)/events/(?P<event>[^/]+)$"), "get_event"),
    (
        "PUT",
        re.compile(r"^calendars/(?P<calendar>[^/]+)/events/(?P<event>[^/]+)$"),
        "update_event",
    ),
    (
        "DELETE",
        re.compile(r"^calendars/(?P<calendar>[^/]+)/events/(?P<event>[^/]+)$"),
        "delete_event",
    ),
]


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def api_error(reason: str, *, status: int | None = None, message: str | None = None) -> dict:
    """A Calendar API error body (the `{"error": {"errors": [...], "code", "message"}}` shape)."""
    known = fixture("api_errors.json").get(reason, {})
    code = status or known.get("status", 400)
    item = {
        "domain": known.get("domain", "global"),
        "reason": reason,
        "message": message or known.get("message", reason),
    }
    for key in ("locationType", "location"):
        if key in known:
            item[key] = known[key]
    body = copy.deepcopy(fixture("api_error.json"))
    body["error"]["errors"] = [item]
    body["error"]["code"] = code
    body["error"]["message"] = item["message"]
    return body


def _no_write_access() -> tuple[int, dict]:
    return 403, api_error(
        "requiredAccessLevel", message="You need to have writer access to this calendar."
    )


def rfc3339(moment: datetime, tz: ZoneInfo | None = None) -> str:
    moment = moment.astimezone(tz or UTC)
    if moment.utcoffset() == timedelta(0) and (tz is None or tz.key == "UTC"):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat(timespec="seconds")


def parse_rfc3339(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment


def new_event_id() -> str:
    return base64.b32hexencode(secrets.token_bytes(15)).decode().lower()


@dataclass
class FakeCalendar:
    id: str
    summary: str
    primary: bool = False
    access_role: str = "owner"
    time_zone: str = "UTC"
    failing_reason: str | None = None
    events: dict[str, dict] = field(default_factory=dict)


class FakeGoogle(FakeOAuthServer):
    authorize_path = AUTH_PATH
    token_path = TOKEN_PATH
    client_id = "fake-client-id.apps.googleusercontent.com"
    client_secret = "fake-client-secret"
    account_email = "owner@example.com"
    access_token_lifetime = 3599  # seconds, what Google answers

    def __init__(self, *, latency: float = 0.0, token_latency: float = 0.0, port: int = 0) -> None:
        super().__init__(latency=latency, token_latency=token_latency, port=port)
        self.granted_scopes: list[str] | None = None  # None: as asked
        # None accepts any redirect URI; a list makes others fail like an unregistered URI.
        self.allowed_redirect_uris: list[str] | None = None
        self.revoked_tokens: list[str] = []
        self._calendars: dict[str, FakeCalendar] = {}
        self.add_calendar(self.account_email, self.account_email, primary=True)

    @property
    def auth_uri(self) -> str:
        return self.base_url + AUTH_PATH

    @property
    def token_uri(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def revoke_uri(self) -> str:
        return self.base_url + REVOKE_PATH

    @property
    def calendar_endpoint(self) -> str:
        return self.base_url + CALENDAR_PATH

    def settings(self) -> dict:
        """The GOOGLE_* settings that point the project here."""
        return {
            "GOOGLE_OAUTH_CLIENT_ID": self.client_id,
            "GOOGLE_OAUTH_CLIENT_SECRET": self.client_secret,
            "GOOGLE_OAUTH_AUTH_URI": self.auth_uri,
            "GOOGLE_OAUTH_TOKEN_URI": self.token_uri,
            "GOOGLE_OAUTH_REVOKE_URI": self.revoke_uri,
            "GOOGLE_CALENDAR_API_ENDPOINT": self.calendar_endpoint,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables, for a server subprocess. oauthlib refuses
        plain-http token URLs unless told this is a local test."""
        return {**super().env(), "OAUTHLIB_INSECURE_TRANSPORT": "1"}

    # -- Test helpers: state -------------------------------------------------------------

    def issue_tokens(self, *, expires_in: int = 3600, scopes: list[str] | None = None) -> dict:
        """Mint a refresh + access token pair directly, as if the owner had consented.
        A negative or zero `expires_in` gives an access token that is already expired."""
        from integrations.google_calendar.client import SCOPES

        with self._lock:
            grant = self._new_grant(scopes or SCOPES)
            access = self._mint_access_token(grant, expires_in)
        return {
            "access_token": access,
            "refresh_token": grant.refresh_token,
            "expires_in": expires_in,
            "expires_at": datetime.now(UTC) + timedelta(seconds=expires_in),
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }

    def add_calendar(
        self,
        calendar_id: str,
        summary: str,
        *,
        primary: bool = False,
        failing_reason: str | None = None,
        access_role: str = "owner",
        time_zone: str = "UTC",
    ) -> None:
        """A calendar on the account's list. `failing_reason` (e.g. "notFound",
        "backendError") makes freeBusy report an error for this calendar alone."""
        with self._lock:
            existing = self._calendars.get(calendar_id)
            calendar = FakeCalendar(
                id=calendar_id,
                summary=summary,
                primary=primary,
                access_role=access_role,
                time_zone=time_zone,
                failing_reason=failing_reason,
                events=existing.events if existing else {},
            )
            self._calendars[calendar_id] = calendar

    def add_event(
        self,
        calendar_id: str,
        start: datetime | date,
        end: datetime | date,
        *,
        summary: str = "Busy",
        transparent: bool = False,
        event_id: str | None = None,
    ) -> str:
        """An event someone made in Google. Dates (not datetimes) make an all-day event."""
        event_id = event_id or new_event_id()
        with self._lock:
            calendar = self._calendar(calendar_id)
            assert calendar is not None, f"no calendar {calendar_id!r}: add_calendar() it first"
            body: dict = {"summary": summary}
            if isinstance(start, datetime):
                assert start.tzinfo and isinstance(end, datetime) and end.tzinfo, "aware datetimes"
                body["start"] = {"dateTime": rfc3339(start)}
                body["end"] = {"dateTime": rfc3339(end)}
            else:
                body["start"] = {"date": start.isoformat()}
                body["end"] = {"date": end.isoformat()}
            if transparent:
                body["transparency"] = "transparent"
            calendar.events[event_id] = self._event_resource(calendar, event_id, body)
        return event_id

    def events(self, calendar_id: str = "primary", *, include_deleted: bool = False) -> list[dict]:
        """The calendar's stored events (Google's event resources, with "id")."""
        with self._lock:
            calendar = self._calendar(calendar_id)
            if calendar is None:
                return []
            return [
                copy.deepcopy(e)
                for e in calendar.events.values()
                if include_deleted or e["status"] != "cancelled"
            ]

    def fail(self, path_prefix: str, status: int, *, reason: str | None = None, **kwargs) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` (from the
        server root, e.g. "/calendar/v3/freeBusy" or "/token") with `status` and Google's
        error body for `reason` (default by status: backendError, rateLimitExceeded...)."""
        super().fail(path_prefix, status, code=reason, **kwargs)

    # -- Internals ---------------------------------------------------------------------------

    def _calendar(self, calendar_id: str) -> FakeCalendar | None:
        if calendar_id == "primary":
            calendar_id = self.account_email
        return self._calendars.get(calendar_id)

    def _new_access_token(self) -> str:
        return "ya29.fake-" + secrets.token_urlsafe(32)

    def _new_refresh_token(self) -> str:
        return "1//fake-" + secrets.token_urlsafe(32)

    def _event_resource(self, calendar: FakeCalendar, event_id: str, body: dict) -> dict:
        now = datetime.now(UTC)
        event = copy.deepcopy(fixture("event.json"))
        for key in ("summary", "description", "extendedProperties", "transparency"):
            event.pop(key, None)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        eid = base64.urlsafe_b64encode(f"{event_id} {calendar.id}".encode()).decode().rstrip("=")
        event.update(
            {
                "etag": f'"{int(now.timestamp() * 1000000)}"',
                "id": event_id,
                "status": "confirmed",
                "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
                "created": stamp,
                "updated": stamp,
                "creator": {"email": self.account_email, "self": True},
                "organizer": {"email": calendar.id, "self": True},
                "iCalUID": f"{event_id}@google.com",
            }
        )
        event.update(copy.deepcopy(body))
        event["id"] = event_id
        for edge in ("start", "end"):
            event[edge] = _normalise_time(event[edge], calendar.time_zone)
        return event

    def _busy(self, calendar: FakeCalendar, start: datetime, end: datetime) -> list[tuple]:
        spans = []
        for event in calendar.events.values():
            if event["status"] == "cancelled" or event.get("transparency") == "transparent":
                continue
            begins = _instant(event["start"], calendar.time_zone)
            ends = _instant(event["end"], calendar.time_zone)
            if begins < end and ends > start:
                spans.append((max(begins, start), min(ends, end)))
        merged: list[list[datetime]] = []
        for begins, ends in sorted(spans):
            if merged and begins <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], ends)
            else:
                merged.append([begins, ends])
        return [tuple(m) for m in merged]

    # -- Endpoints -------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """GET auth_uri: (status, headers, html)."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return (
                401,
                {},
                "<h1>Error 401: invalid_client</h1><p>The OAuth client was not found.</p>",
            )
        if not redirect_uri or (
            self.allowed_redirect_uris is not None
            and redirect_uri not in self.allowed_redirect_uris
        ):
            return 400, {}, "<h1>Error 400: redirect_uri_mismatch</h1>"
        if query.get("response_type") != "code":
            return 400, {}, "<h1>Error 400: invalid_request</h1><p>response_type must be code</p>"
        state = query.get("state")
        if self.deny_consent:
            params = {"error": "access_denied"}
        else:
            asked = query.get("scope", "").split()
            granted = asked if self.granted_scopes is None else list(self.granted_scopes)
            code = self._new_code(
                "4/0fake-" + secrets.token_urlsafe(24),
                redirect_uri=redirect_uri,
                scopes=granted,
                offline=query.get("access_type") == "offline",
                challenge=query.get("code_challenge"),
                challenge_method=query.get("code_challenge_method", "plain"),
            )
            params = {"code": code, "scope": " ".join(granted)}
        if state is not None:
            params["state"] = state
        return redirect(redirect_uri, params)

    def _refuse_client(self, form: dict[str, str], authorization: str) -> tuple[int, dict] | None:
        client_id, client_secret = basic_credentials(authorization) or (
            form.get("client_id"),
            form.get("client_secret"),
        )
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, fixture("token_error_invalid_client.json")
        return None

    def _exchange_code(self, form: dict[str, str]) -> tuple[int, dict]:
        code, wrong = self._redeem_code(form)
        if code is None:
            error, description = {
                "code": ("invalid_grant", "Bad Request"),
                "redirect_uri": ("redirect_uri_mismatch", "Bad Request"),
                "no_verifier": ("invalid_grant", "Missing code verifier."),
                "verifier": ("invalid_grant", "Invalid code verifier."),
            }[wrong]
            return 400, {"error": error, "error_description": description}
        grant = self._new_grant(code.scopes, offline=code.offline)
        access = self._mint_access_token(grant, self.access_token_lifetime)
        body = fixture("token_response_code.json")
        body.update(
            access_token=access, expires_in=self.access_token_lifetime, scope=" ".join(grant.scopes)
        )
        if grant.refresh_token:
            body["refresh_token"] = grant.refresh_token
        else:
            body.pop("refresh_token")
        return 200, body

    def _refresh(self, form: dict[str, str]) -> tuple[int, dict]:
        grant = self._grant_to_refresh(form.get("refresh_token", ""))
        if grant is None:
            return 400, fixture("token_error_invalid_grant.json")
        asked = form.get("scope", "").split()
        if any(scope not in grant.scopes for scope in asked):
            return 400, {"error": "invalid_scope", "error_description": "Bad Request"}
        access = self._mint_access_token(grant, self.access_token_lifetime)
        body = fixture("token_response_refresh.json")
        body.update(
            access_token=access,
            expires_in=self.access_token_lifetime,
            scope=" ".join(asked or grant.scopes),
        )
        return 200, body

    def revoke(self, token: str) -> tuple[int, dict]:
        with self._lock:
            grant = self._grant_of(token)
            if grant is None or grant.revoked:
                return 400, fixture("revoke_error_invalid_token.json")
            grant.revoked = True
            self.revoked_tokens.append(token)
        return 200, {}

    def authorize_bearer(self, authorization: str, needed: set[str]) -> tuple[int, dict] | None:
        """None when the bearer token is live and has one of the `needed` scopes."""
        with self._lock:
            access = self._bearer(authorization)
            if access is None:
                return 401, api_error("authError")
            if not needed & set(access.grant.scopes):
                return 403, api_error("insufficientPermissions")
        return None

    def free_busy(self, body: dict, _match: dict) -> tuple[int, dict]:
        try:
            start = parse_rfc3339(body["timeMin"])
            end = parse_rfc3339(body["timeMax"])
        except (KeyError, TypeError, ValueError):
            return 400, api_error("badRequest", message="Invalid timeMin or timeMax.")
        if end <= start:
            return 400, api_error("timeRangeEmpty")
        if end - start > MAX_FREEBUSY_RANGE:
            return 400, api_error("timeRangeTooLong")
        items = body.get("items") or []
        if len(items) > MAX_FREEBUSY_CALENDARS:
            return 400, api_error(
                "tooManyCalendarsRequested",
                message="The number of calendars requested is too large.",
            )
        try:
            zone = ZoneInfo(body.get("timeZone") or "UTC")
        except (ValueError, KeyError):
            return 400, api_error("invalid", message="Invalid time zone.")
        answer = fixture("freebusy_response.json")
        answer["timeMin"] = rfc3339(start, zone)
        answer["timeMax"] = rfc3339(end, zone)
        answer["calendars"] = {}
        with self._lock:
            for item in items:
                calendar_id = item.get("id", "")
                calendar = self._calendar(calendar_id)
                if calendar is None or calendar.failing_reason:
                    reason = calendar.failing_reason if calendar else "notFound"
                    answer["calendars"][calendar_id] = {
                        "errors": [{"domain": "global", "reason": reason}],
                        "busy": [],
                    }
                    continue
                answer["calendars"][calendar_id] = {
                    "busy": [
                        {"start": rfc3339(b, zone), "end": rfc3339(e, zone)}
                        for b, e in self._busy(calendar, start, end)
                    ]
                }
        return 200, answer

    def calendar_list(self, query: dict[str, str], _match: dict) -> tuple[int, dict]:
        page_size = max(1, min(int(query.get("maxResults") or 100), 250))
        offset = int(query.get("pageToken") or 0)
        with self._lock:
            entries = [self._list_entry(c) for c in self._calendars.values()]
        answer = fixture("calendar_list.json")
        answer["items"] = entries[offset : offset + page_size]
        if offset + page_size < len(entries):
            answer.pop("nextSyncToken")
            answer["nextPageToken"] = str(offset + page_size)
        return 200, answer

    def calendar_list_get(self, _query: dict, match: dict) -> tuple[int, dict]:
        with self._lock:
            calendar = self._calendar(match["calendar"])
            if calendar is None:
                return 404, api_error("notFound")
            return 200, self._list_entry(calendar)

    def _list_entry(self, calendar: FakeCalendar) -> dict:
        entry = fixture("calendar_list_entry.json")
        entry.update(
            id=calendar.id,
            summary=calendar.summary,
            timeZone=calendar.time_zone,
            accessRole=calendar.access_role,
        )
        if calendar.primary:
            entry["primary"] = True
        else:
            entry.pop("primary", None)
            entry.pop("notificationSettings", None)
        return entry

    def insert_event(self, body: dict, match: dict) -> tuple[int, dict]:
        with self._lock:
            calendar = self._calendar(match["calendar"])
            if calendar is None:
                return 404, api_error("notFound")
            if calendar.access_role not in ("owner", "writer"):
                return _no_write_access()
            for edge in ("start", "end"):
                problem = _time_problem(body.get(edge), edge)
                if problem:
                    return 400, api_error(problem[0], message=problem[1])
            if _instant(body["end"], calendar.time_zone) <= _instant(
                body["start"], calendar.time_zone
            ):
                return 400, api_error("timeRangeEmpty")
            event_id = body.get("id") or new_event_id()
            if not BASE32HEX_ID.match(event_id):
                return 400, api_error("invalid")
            # A deleted event keeps its id: inserting it again is still a duplicate.
            if event_id in calendar.events:
                return 409, api_error("duplicate")
            event = self._event_resource(calendar, event_id, body)
            calendar.events[event_id] = event
            return 200, copy.deepcopy(event)

    def update_event(self, body: dict, match: dict) -> tuple[int, dict]:
        """events.update: the whole resource replaced (a cancelled event can't be revived
        this way here; Google would need its status set explicitly)."""
        with self._lock:
            calendar = self._calendar(match["calendar"])
            event = calendar.events.get(match["event"]) if calendar else None
            if event is None:
                return 404, api_error("notFound")
            if calendar.access_role not in ("owner", "writer"):
                return _no_write_access()
            for edge in ("start", "end"):
                problem = _time_problem(body.get(edge), edge)
                if problem:
                    return 400, api_error(problem[0], message=problem[1])
            if event["status"] == "cancelled":
                return 410, api_error("deleted")
            updated = self._event_resource(calendar, match["event"], body)
            updated["created"] = event["created"]
            calendar.events[match["event"]] = updated
            return 200, copy.deepcopy(updated)

    def get_event(self, _query: dict, match: dict) -> tuple[int, dict]:
        with self._lock:
            calendar = self._calendar(match["calendar"])
            event = calendar.events.get(match["event"]) if calendar else None
            if event is None:
                return 404, api_error("notFound")
            return 200, copy.deepcopy(event)

    def delete_event(self, _query: dict, match: dict) -> tuple[int, dict | None]:
        with self._lock:
            calendar = self._calendar(match["calendar"])
            event = calendar.events.get(match["event"]) if calendar else None
            if event is None:
                return 404, api_error("notFound")
            if calendar.access_role not in ("owner", "writer"):
                return _no_write_access()
            if event["status"] == "cancelled":
                return 410, api_error("deleted")
            event["status"] = "cancelled"
            return 204, None


class _Handler(FakeHandler):
    fake: FakeGoogle

    def is_api(self, path: str) -> bool:
        return path.startswith(CALENDAR_PATH)

    def route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> None:
        if method == "POST" and path == REVOKE_PATH:
            token = flat(parse_qs(raw.decode())).get("token") or query.get("token", "")
            return self._reply(*self.fake.revoke(token))
        if path.startswith(CALENDAR_PATH):
            return self._calendar_api(method, path[len(CALENDAR_PATH) :], query, raw)
        return self._reply(404, api_error("notFound"))

    def _calendar_api(self, method: str, subpath: str, query: dict, raw: bytes) -> None:
        fake = self.fake
        for route_method, pattern, name in _CALENDAR_ROUTES:
            match = pattern.match(subpath)
            if route_method != method or match is None:
                continue
            needed = {
                "free_busy": FREEBUSY_SCOPES,
                "calendar_list": CALENDAR_LIST_SCOPES,
                "calendar_list_get": CALENDAR_LIST_SCOPES,
                "insert_event": EVENTS_WRITE_SCOPES,
                "update_event": EVENTS_WRITE_SCOPES,
                "get_event": EVENTS_READ_SCOPES,
                "delete_event": EVENTS_WRITE_SCOPES,
            }[name]
            refused = fake.authorize_bearer(self.headers.get("Authorization", ""), needed)
            if refused:
                return self._reply(*refused, headers={"WWW-Authenticate": 'Bearer realm="fake"'})
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            if method in ("POST", "PUT"):
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._reply(400, api_error("parseError", message="Parse Error"))
                return self._reply(*getattr(fake, name)(body, params))
            return self._reply(*getattr(fake, name)(query, params))
        return self._reply(404, api_error("notFound"))

    def reply_fault(self, fault: Fault, path: str) -> None:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        if not path.startswith(CALENDAR_PATH):
            error = fault.code or ("internal_failure" if fault.status >= 500 else "invalid_request")
            return self._reply(fault.status, {"error": error}, headers=headers)
        reason = fault.code or {
            401: "authError",
            429: "rateLimitExceeded",
            403: "rateLimitExceeded",
            404: "notFound",
            409: "duplicate",
            410: "deleted",
        }.get(fault.status, "backendError" if fault.status >= 500 else "badRequest")
        return self._reply(fault.status, api_error(reason, status=fault.status), headers=headers)


FakeGoogle.handler = _Handler


def _time_problem(value, edge: str) -> tuple[str, str] | None:
    if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
        return "required", f"Missing {edge} time."
    if value.get("dateTime"):
        try:
            moment = datetime.fromisoformat(value["dateTime"])
        except ValueError:
            return "invalid", f"Invalid {edge} time."
        zone = value.get("timeZone")
        if zone:
            try:
                ZoneInfo(zone)
            except (ValueError, KeyError):
                return "timeZoneInvalid", f"Invalid time zone definition for {edge} time."
        elif moment.tzinfo is None:
            return "missingTimeZone", "Missing time zone definition for start time."
    return None


def _instant(value: dict, calendar_zone: str) -> datetime:
    """An event time as an aware instant (all-day: midnight in the calendar's zone)."""
    if "dateTime" in value:
        moment = datetime.fromisoformat(value["dateTime"])
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(value.get("timeZone") or calendar_zone))
        return moment.astimezone(UTC)
    day = date.fromisoformat(value["date"])
    return datetime.combine(day, datetime.min.time(), ZoneInfo(calendar_zone)).astimezone(UTC)


def _normalise_time(value: dict, calendar_zone: str) -> dict:
    """What Google echoes back: the dateTime with the offset of the event's time zone."""
    zone = value.get("timeZone")
    if "dateTime" not in value or not zone:
        return dict(value)
    moment = _instant(value, calendar_zone)
    return {"dateTime": rfc3339(moment, ZoneInfo(zone)), "timeZone": zone}
