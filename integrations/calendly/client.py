"""The one seam for Calendly HTTP (API v2 and its OAuth token endpoint): timeouts, the retry
budget, token refresh and readable errors live here.

    client = CalendlyClient(connection)
    starts = client.available_starts(event_type_uri, start, end)   # blocking: use a thread

Tokens. The stored access token is used while it has more than a minute left (Calendly's
live two hours). Otherwise, or after a 401, it is refreshed once through
calendar_base.token_refresh: the row is re-read (another process may have refreshed
already), the token endpoint is asked outside any transaction, and the answer is saved at
once unless another refresh saved first (compare-and-swap). Calendly's
refresh tokens are single-use, so the rotated one must be stored before anything else
happens. `invalid_grant` marks the connection "needs reconnect", unless the row by then holds
another refresh token (a refresh elsewhere spent ours: its tokens are used); every other error
is raised as `CalendlyError` for the caller to record.

Writes are never retried: a POST /invitees that timed out or got a 5xx may have booked at
Calendly (`CalendlyError.sent`), so the caller is told we could not confirm it rather than
booked twice.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from urllib3.exceptions import NewConnectionError

from integrations.calendar_base.errors import CalendarError, retry_after_seconds
from integrations.calendar_base.token_refresh import GrantIsDead, NewTokens, fresh_access_token
from integrations.calendly import connections
from integrations.calendly.models import CalendlyConnection

logger = logging.getLogger(__name__)

# GET /event_type_available_times takes at most 7 days per request in Calendly's original
# documentation (31 since July 2026); 7-day windows work under both and fetch no more than a
# call needs. The range must also start in the future.
AVAILABLE_TIMES_WINDOW = timedelta(days=7)
FUTURE_MARGIN = timedelta(seconds=30)
# An access token this close to expiry is refreshed before use.
EXPIRY_MARGIN = timedelta(seconds=60)
# What a rate-limited caller should wait when Calendly did not say (seconds).
RATE_LIMIT_PAUSE = 30.0
PAGE_SIZE = 100
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class CalendlyError(CalendarError):
    """Talking to Calendly failed (`kind`: a `connections` problem kind; see CalendarError).
    `sent`: the API request itself may have reached Calendly (an answer came, or the wait
    for one failed after connecting); False when it failed before that, e.g. while
    refreshing the token, so a write can't have happened."""

    def __init__(self, message: str, *, sent: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.sent = sent


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """False only when no connection was made (refused, or timed out connecting)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return not isinstance(reason, NewConnectionError)


@dataclass(frozen=True)
class EventTypeInfo:
    uri: str
    name: str
    duration: int | None
    active: bool


@dataclass(frozen=True)
class Invitee:
    uri: str
    event_uri: str


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: list[str]
    owner: str
    organization: str


def parse_time(value: str) -> datetime:
    """Calendly's times are UTC ISO 8601 ("2026-12-01T14:00:00.000000Z")."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _retry_after(response: requests.Response) -> float:
    found = retry_after_seconds(response.headers.get("Retry-After"))
    return RATE_LIMIT_PAUSE if found is None else found


def _message(response: requests.Response) -> str:
    """Calendly's error body ({"title", "message", "details"}) in one line, token-free."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    text = str(body.get("message") or body.get("error_description") or body.get("title") or "")
    details = body.get("details") or []
    extra = "; ".join(
        f"{d.get('parameter', '')}: {d.get('message', '')}".strip(": ")
        for d in details
        if isinstance(d, dict)
    )
    return f"HTTP {response.status_code}: {text}" + (f" ({extra})" if extra else "")


def secure_enough(url: str) -> bool:
    """https; or plain http to a loopback fake (`make fake-calendly`, the tests) under DEBUG
    or with OAUTHLIB_INSECURE_TRANSPORT set, the convention the Google flow uses too.
    Nothing leaves the machine over such a connection."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    local_fake = parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    return local_fake and (settings.DEBUG or bool(os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")))


def _insecure(name: str) -> CalendlyError:
    return CalendlyError(
        f"{name} must be an https:// address (plain http only for a local fake Calendly)",
        kind=connections.NOT_ALLOWED,
        permanent=True,
    )


def token_endpoint() -> str:
    return settings.CALENDLY_AUTH_BASE_URL.rstrip("/") + "/oauth/token"


@sensitive_variables()
def request_tokens(form: dict[str, str], *, timeout: float) -> TokenResponse:
    """POST /oauth/token (web app: client id and secret as HTTP Basic). Raises CalendlyError
    (`TOKEN_REVOKED`, permanent, for invalid_grant)."""
    if not secure_enough(token_endpoint()):
        raise _insecure("CALENDLY_AUTH_BASE_URL")
    try:
        response = requests.post(
            token_endpoint(),
            data=form,
            auth=(settings.CALENDLY_OAUTH_CLIENT_ID, settings.CALENDLY_OAUTH_CLIENT_SECRET),
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise CalendlyError(
            f"the token endpoint did not answer ({type(exc).__name__})", kind=connections.API_DOWN
        ) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise CalendlyError(
            f"the token endpoint answered HTTP {response.status_code}",
            kind=connections.RATE_LIMITED if response.status_code == 429 else connections.API_DOWN,
            retry_after=_retry_after(response) if response.status_code == 429 else None,
            status=response.status_code,
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not body.get("access_token"):
        code = str(body.get("error") or f"HTTP {response.status_code}")
        revoked = code in ("invalid_grant", "unauthorized_client")
        raise CalendlyError(
            f"the token endpoint refused ({code})",
            kind=connections.TOKEN_REVOKED if revoked else connections.REFUSED,
            permanent=True,
            status=response.status_code,
        )
    expires_in = body.get("expires_in")
    created = body.get("created_at")
    issued = datetime.fromtimestamp(float(created), tz=UTC) if created else datetime.now(UTC)
    return TokenResponse(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token"),
        expires_at=issued + timedelta(seconds=float(expires_in)) if expires_in else None,
        scopes=str(body.get("scope") or "").split(),
        owner=str(body.get("owner") or ""),
        organization=str(body.get("organization") or ""),
    )


def _fresh(token: str | None, expires_at: datetime | None) -> bool:
    if not token:
        return False
    return expires_at is None or expires_at - EXPIRY_MARGIN > datetime.now(UTC)


class CalendlyClient:
    """Calendly API v2 for one connection. Methods block (requests): call them from a thread
    (integrations.calendar_base.off_loop.calendar_http) in async code."""

    def __init__(
        self, connection: CalendlyConnection, *, timeout: float | None = None, retries: int = 1
    ) -> None:
        self.connection = connection
        self.timeout = float(settings.CALENDLY_HTTP_TIMEOUT if timeout is None else timeout)
        self.retries = retries
        self.base = settings.CALENDLY_API_BASE_URL.rstrip("/")

    # -- Reading ------------------------------------------------------------------------------

    def current_user(self) -> dict[str, Any]:
        """GET /users/me: the connected user's resource (uri, name, email, ...)."""
        return self._call("GET", "/users/me")["resource"]

    def event_types(self) -> list[EventTypeInfo]:
        """The connected user's event types (GET /event_types?user=...), every page."""
        found: list[EventTypeInfo] = []
        params: dict[str, Any] | None = {"user": self.connection.user_uri, "count": PAGE_SIZE}
        url = "/event_types"
        while url:
            body = self._call("GET", url, params=params)
            for item in body.get("collection", []):
                found.append(
                    EventTypeInfo(
                        uri=item["uri"],
                        name=str(item.get("name") or ""),
                        duration=item.get("duration"),
                        active=bool(item.get("active", True)),
                    )
                )
            url = (body.get("pagination") or {}).get("next_page") or ""
            params = None  # next_page is a full URL with its own query
        return found

    def available_starts(
        self, event_type_uri: str, start: datetime, end: datetime
    ) -> list[datetime]:
        """Bookable starts of the event type in [start, end), aware UTC, sorted (GET
        /event_type_available_times, in windows Calendly accepts; the past is skipped)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("available_starts needs aware datetimes")
        cursor = max(start.astimezone(UTC), datetime.now(UTC) + FUTURE_MARGIN)
        end = end.astimezone(UTC)
        starts: set[datetime] = set()
        while cursor < end:
            window_end = min(end, cursor + AVAILABLE_TIMES_WINDOW)
            body = self._call(
                "GET",
                "/event_type_available_times",
                params={
                    "event_type": event_type_uri,
                    "start_time": format_time(cursor),
                    "end_time": format_time(window_end),
                },
            )
            for item in body.get("collection", []):
                if item.get("status", "available") != "available":
                    continue
                moment = parse_time(item["start_time"])
                if cursor <= moment < window_end:
                    starts.add(moment)
            cursor = window_end
        return sorted(starts)

    # -- Writing (never retried) ------------------------------------------------------------

    def create_invitee(
        self,
        *,
        event_type_uri: str,
        start: datetime,
        name: str,
        email: str,
        timezone: str,
        phone: str = "",
    ) -> Invitee:
        """POST /invitees (Scheduling API): book `start` of the event type for the invitee.
        `phone` becomes Calendly's SMS reminder number; empty sends none."""
        invitee: dict[str, Any] = {"name": name, "email": email, "timezone": timezone}
        if phone:
            invitee["text_reminder_number"] = phone
        body = self._call(
            "POST",
            "/invitees",
            json={
                "event_type": event_type_uri,
                "start_time": format_time(start),
                "invitee": invitee,
            },
            retries=0,
        )
        resource = body["resource"]
        return Invitee(uri=resource["uri"], event_uri=resource["event"])

    def cancel_event(self, event_uuid: str, *, reason: str) -> None:
        """POST /scheduled_events/{uuid}/cancellation."""
        self._call(
            "POST",
            f"/scheduled_events/{event_uuid}/cancellation",
            json={"reason": reason},
            retries=0,
        )

    # -- Plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: dict | None = None,
        retries: int | None = None,
    ) -> dict[str, Any]:
        url = path if path.startswith("http") else self.base + path
        if not secure_enough(url):
            raise _insecure("CALENDLY_API_BASE_URL")
        budget = self.retries if retries is None else retries
        refreshed = False
        attempt = 0
        while True:
            token = self._access_token(force=False)
            try:
                response = requests.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                if attempt < budget:
                    attempt += 1
                    continue
                raise CalendlyError(
                    f"{method} {path}: no answer ({type(exc).__name__})",
                    kind=connections.API_DOWN,
                    sent=_may_have_arrived(exc),
                ) from exc
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self._access_token(force=True, stale=token)
                continue
            if response.status_code >= 500 and attempt < budget:
                attempt += 1
                time.sleep(0.2 * attempt)
                continue
            if response.status_code in (200, 201):
                return response.json() if response.content else {}
            if response.status_code == 204:
                return {}
            raise self._error(method, path, response)

    def _error(self, method: str, path: str, response: requests.Response) -> CalendlyError:
        status = response.status_code
        text = f"{method} {path}: {_message(response)}"
        if status == 401:
            connections.record_problem(
                connection=self.connection,
                kind=connections.TOKEN_REVOKED,
                detail=text,
                needs_reconnect=True,
            )
            return CalendlyError(
                text, kind=connections.TOKEN_REVOKED, permanent=True, status=status, sent=True
            )
        if status == 429:
            return CalendlyError(
                text,
                kind=connections.RATE_LIMITED,
                retry_after=_retry_after(response),
                status=status,
                sent=True,
            )
        if status >= 500:
            return CalendlyError(text, kind=connections.API_DOWN, status=status, sent=True)
        if status == 403:
            return CalendlyError(
                text, kind=connections.NOT_ALLOWED, permanent=True, status=status, sent=True
            )
        return CalendlyError(
            text, kind=connections.REFUSED, permanent=True, status=status, sent=True
        )

    @sensitive_variables()
    def _access_token(self, *, force: bool, stale: str | None = None) -> str:
        connection = self.connection
        if not force and _fresh(connection.access_token, connection.access_token_expires_at):
            return connection.access_token

        def ask(refresh_token: str) -> NewTokens:
            try:
                tokens = request_tokens(
                    {"grant_type": "refresh_token", "refresh_token": refresh_token},
                    timeout=self.timeout,
                )
            except CalendlyError as exc:
                if exc.kind != connections.TOKEN_REVOKED:
                    raise
                raise GrantIsDead(str(exc), exc) from None
            return NewTokens(tokens.access_token, tokens.expires_at, tokens.refresh_token)

        return fresh_access_token(
            connection,
            store=connections.store,
            service="Calendly",
            stale=stale,
            valid=_fresh,
            ask=ask,
            not_connected=lambda: CalendlyError(
                "Calendly is not connected", kind=connections.NOT_CONNECTED, permanent=True
            ),
        )
