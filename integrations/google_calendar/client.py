"""The one seam for Google Calendar HTTP: timeouts, the retry budget, token refresh and
readable errors live here, so the provider and the sync tasks never see httplib2.

    client = CalendarClient(connection)
    busy = client.free_busy(["primary"], start, end)     # sync: run it off the event loop
    busy = await client.afree_busy(["primary"], start, end)

Tokens. The cached access token (encrypted on the connection) is used as is while google-auth
considers it valid, so a warm call costs one round trip and no token request. Once it is
within google-auth's refresh threshold of expiry (a few minutes), the first request refreshes
it, through `_ConnectionCredentials.refresh` and calendar_base.token_refresh: the row is
re-read (another thread or process may have refreshed already), the token endpoint is asked
outside any transaction and the answer saved if the row has not moved meanwhile
(compare-and-swap). A 401 from the API takes the same path.
`invalid_grant` (the refresh token is dead) marks the connection "needs reconnect" here;
every other error is raised as `GoogleCalendarError` for the caller to record.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import threading
import time
from base64 import b32hexencode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.auth import exceptions as auth_exceptions
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from bookings.slots import Interval
from integrations.calendar_base.errors import CalendarError, backoff_seconds, retry_after_seconds
from integrations.calendar_base.event_text import event_description, event_title, merge_busy
from integrations.calendar_base.off_loop import off_loop, overall_timeout
from integrations.calendar_base.token_refresh import GrantIsDead, NewTokens, fresh_access_token
from integrations.google_calendar import connections
from integrations.google_calendar.models import GoogleCalendarConnection

logger = logging.getLogger(__name__)

SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
]

# freeBusy refuses long ranges (timeRangeTooLong) and more than 50 calendars per request.
FREEBUSY_MAX_RANGE = timedelta(days=90)
FREEBUSY_MAX_CALENDARS = 50
# Retry n (from 0) waits a random time up to BACKOFF_BASE * 2**n seconds ("full jitter"), or
# what Google's Retry-After says. Tests set BACKOFF_BASE to 0.
BACKOFF_BASE = 0.5
# A Retry-After longer than this is not waited for inside a call: the error goes to the caller
# (the outbox reschedules, the provider degrades) with retry_after set.
MAX_INLINE_WAIT = 5.0
# What a rate-limited caller should wait when Google did not say (seconds).
RATE_LIMIT_PAUSE = 30.0
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
EVENT_ID_PREFIX = "rcpt"  # base32hex letters only (a-v)
BOOKING_PROPERTY = "receptionist_booking"


class GoogleCalendarError(CalendarError):
    """Talking to Google failed (see CalendarError: kind, permanent, retry_after, status)."""


@dataclass(frozen=True)
class FreeBusy:
    busy: list[Interval]  # union over the calendars that answered: aware UTC, half-open, sorted
    unknown: dict[str, str]  # calendar id -> why Google could not say (never "free")


@dataclass(frozen=True)
class CalendarInfo:
    id: str
    summary: str
    primary: bool
    access_role: str


def event_id_for(booking) -> str:
    """The Google event id for a booking: the same for every attempt, so a retried insert gets
    409 instead of a second event. Base32hex (a-v, 0-9) as Google requires. The creation time
    is part of it so a reused primary key (a restored or reset database) never collides."""
    created = booking.created_at.isoformat() if booking.created_at else ""
    seed = f"receptionist|{booking.business_id}|{booking.pk}|{created}".encode()
    digest = hashlib.sha256(seed).digest()[:20]  # 160 bits -> 32 characters, no padding
    return EVENT_ID_PREFIX + b32hexencode(digest).decode().lower()


# -- Tokens ---------------------------------------------------------------------------------


def _naive_utc(moment: datetime | None) -> datetime | None:
    # google-auth compares expiry with a naive UTC "now".
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def _aware_utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment else None


class _ConnectionCredentials(Credentials):
    """google-auth user credentials whose refresh goes through the client: one refresh per
    connection at a time, saved on the connection. google-auth calls `refresh` itself before a
    request when the token is no longer valid, and after a 401."""

    def __init__(self, *args, client: CalendarClient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._client = client

    def refresh(self, request) -> None:
        self.token, self.expiry = self._client._fresh_token(request, stale=self.token)


def _token_valid(token: str | None, expires_at: datetime | None) -> bool:
    """Valid by google-auth's own rule (expiry minus its refresh threshold), so that what we
    call valid never gets refreshed behind our back by the transport."""
    return Credentials(token=token, expiry=_naive_utc(expires_at)).valid


def _refresh_error(exc: auth_exceptions.RefreshError) -> tuple[str, str]:
    """(OAuth error code, description) from a RefreshError, without any token."""
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = str(data.get("error") or "")
    if not code and "invalid_grant" in str(exc):
        code = "invalid_grant"
    description = data.get("error_description") or (exc.args[0] if exc.args else "")
    return code, str(description)


# -- The client -------------------------------------------------------------------------------


class CalendarClient:
    """Google Calendar API v3 for one connection. The sync methods block (httplib2): call
    them from a thread, or use the `a*` wrappers from async code. One instance may be shared
    by threads: each thread gets its own HTTP connection."""

    def __init__(
        self,
        connection: GoogleCalendarConnection,
        *,
        timeout: float | None = None,
        num_retries: int | None = None,
    ) -> None:
        self.connection = connection
        self.timeout = float(settings.GOOGLE_HTTP_TIMEOUT if timeout is None else timeout)
        self.num_retries = int(settings.GOOGLE_NUM_RETRIES if num_retries is None else num_retries)
        self._local = threading.local()

    # -- Availability ------------------------------------------------------------------------

    def free_busy(self, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusy:
        """Busy times of the calendars between start and end. A calendar Google reports an
        error for (not found, no access, backend trouble) is in `unknown`, never free."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("free_busy needs aware datetimes")
        ids = list(dict.fromkeys(calendar_ids))
        busy: list[Interval] = []
        unknown: dict[str, str] = {}
        if not ids or end <= start:
            return FreeBusy(busy=[], unknown={})
        cursor = start.astimezone(UTC)
        end = end.astimezone(UTC)
        while cursor < end:
            chunk_end = min(cursor + FREEBUSY_MAX_RANGE, end)
            for group_start in range(0, len(ids), FREEBUSY_MAX_CALENDARS):
                group = ids[group_start : group_start + FREEBUSY_MAX_CALENDARS]
                body = {
                    "timeMin": _rfc3339(cursor),
                    "timeMax": _rfc3339(chunk_end),
                    "timeZone": "UTC",
                    "items": [{"id": calendar_id} for calendar_id in group],
                }
                answer = self._call("freeBusy", lambda s, b=body: s.freebusy().query(body=b))
                calendars = answer.get("calendars") or {}
                for calendar_id in group:
                    entry = calendars.get(calendar_id)
                    if entry is None:
                        unknown.setdefault(calendar_id, "missing from Google's answer")
                        continue
                    if entry.get("errors"):
                        reasons = sorted({e.get("reason", "error") for e in entry["errors"]})
                        unknown.setdefault(calendar_id, ", ".join(reasons))
                        continue
                    busy.extend(
                        (_parse_time(span["start"]), _parse_time(span["end"]))
                        for span in entry.get("busy") or []
                    )
            cursor = chunk_end
        return FreeBusy(busy=merge_busy(busy), unknown=unknown)

    # -- Events --------------------------------------------------------------------------------

    def insert_event(self, booking) -> str:
        """Create the booking's event in the write calendar; returns its id. Inserting the
        same booking again is harmless: Google's 409 means it exists already."""
        event_id = event_id_for(booking)
        calendar_id = self.connection.write_calendar_id or "primary"
        body = {"id": event_id, **_event_body(booking)}
        try:
            created = self._call(
                "events.insert",
                lambda s: s.events().insert(calendarId=calendar_id, body=body),
            )
        except GoogleCalendarError as exc:
            if exc.status == 409:
                logger.info("Event %s for booking %s already exists.", event_id, booking.pk)
                return event_id
            raise
        return created.get("id", event_id)

    def update_event(self, calendar_id: str, event_id: str, booking) -> None:
        """Rewrite an existing event from the booking (its time or details changed)."""
        body = _event_body(booking)
        self._call(
            "events.update",
            lambda s: s.events().update(calendarId=calendar_id, eventId=event_id, body=body),
        )

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Delete an event; one that is already gone (404/410) is fine."""
        try:
            self._call(
                "events.delete",
                lambda s: s.events().delete(calendarId=calendar_id, eventId=event_id),
            )
        except GoogleCalendarError as exc:
            if exc.status in (404, 410):
                logger.info("Event %s in %s was already gone.", event_id, calendar_id)
                return
            raise

    # -- Calendars -------------------------------------------------------------------------------

    def list_calendars(self) -> list[CalendarInfo]:
        calendars: list[CalendarInfo] = []
        page_token: str | None = None
        while True:
            page = self._call(
                "calendarList.list",
                lambda s, t=page_token: s.calendarList().list(pageToken=t, maxResults=250),
            )
            calendars.extend(
                CalendarInfo(
                    id=entry["id"],
                    summary=entry.get("summaryOverride") or entry.get("summary") or entry["id"],
                    primary=bool(entry.get("primary")),
                    access_role=entry.get("accessRole", ""),
                )
                for entry in page.get("items") or []
            )
            page_token = page.get("nextPageToken")
            if not page_token:
                return calendars

    def primary_calendar_id(self) -> str:
        """The primary calendar's id, which is the Google account's email."""
        entry = self._call("calendarList.get", lambda s: s.calendarList().get(calendarId="primary"))
        return entry["id"]

    # -- Async wrappers ----------------------------------------------------------------------------

    @property
    def overall_timeout(self) -> float:
        return overall_timeout(
            timeout=self.timeout,
            num_retries=self.num_retries,
            max_wait=MAX_INLINE_WAIT,
            base=BACKOFF_BASE,
        )

    async def afree_busy(
        self,
        calendar_ids: list[str],
        start: datetime,
        end: datetime,
        *,
        deadline: float | None = None,
    ) -> FreeBusy:
        # A slow Google must not hold up other calls' database work (bookings.orm).
        return await off_loop(
            lambda: self.free_busy(calendar_ids, start, end),
            budget=self.overall_timeout if deadline is None else deadline,
            what="freeBusy",
            service="Google",
            error=GoogleCalendarError,
        )

    # -- Plumbing ------------------------------------------------------------------------------

    def _service(self):
        """This thread's API service (httplib2 connections are not thread-safe)."""
        service = getattr(self._local, "service", None)
        if service is None:
            connection = self.connection
            credentials = _ConnectionCredentials(
                token=connection.access_token,
                refresh_token=connection.refresh_token,
                token_uri=settings.GOOGLE_OAUTH_TOKEN_URI,
                client_id=settings.GOOGLE_OAUTH_CLIENT_ID,
                client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET,
                expiry=_naive_utc(connection.access_token_expires_at),
                client=self,
            )
            # One refresh-and-retry on a 401; a second 401 is an error for the caller.
            authorized = google_auth_httplib2.AuthorizedHttp(
                credentials, http=httplib2.Http(timeout=self.timeout), max_refresh_attempts=1
            )
            service = build(
                "calendar",
                "v3",
                http=authorized,
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": settings.GOOGLE_CALENDAR_API_ENDPOINT},
            )
            self._local.service = service
        return service

    def _call(self, what: str, make_request: Callable[[Any], Any]) -> Any:
        """Execute one API request with the retry budget: 5xx, 429 and rate-limit 403s are
        retried up to num_retries times with jittered backoff; then raised as retryable."""
        if not self.connection.is_usable:
            raise GoogleCalendarError(
                "Google Calendar is not connected", kind=connections.NOT_CONNECTED, permanent=True
            )
        attempt = 0
        while True:
            said: float | None = None  # Google's Retry-After, if it sent one
            try:
                return make_request(self._service()).execute(num_retries=0)
            except HttpError as exc:
                error = _http_error(what, exc)
                said = _retry_after(exc.resp.get("retry-after"))
            except TimeoutError:
                # Not retried: a timeout already spent the caller's patience once.
                self._forget_http()
                raise GoogleCalendarError(
                    f"{what}: Google did not answer within {self.timeout:g}s",
                    kind=connections.API_DOWN,
                ) from None
            except (OSError, httplib2.HttpLib2Error, http.client.HTTPException) as exc:
                self._forget_http()
                error = GoogleCalendarError(
                    f"{what}: could not reach Google ({type(exc).__name__})",
                    kind=connections.API_DOWN,
                )
            except auth_exceptions.TransportError as exc:
                self._forget_http()
                error = GoogleCalendarError(
                    f"{what}: could not reach Google's token endpoint ({type(exc).__name__})",
                    kind=connections.API_DOWN,
                )
            if error.status == 401:
                # Refused even with a token fresh from the token endpoint: staff should see
                # it (callers leave TOKEN_REVOKED to us); a later attempt may well work.
                connections.record_problem(
                    connection=self.connection, kind=connections.TOKEN_REVOKED, detail=str(error)
                )
                raise error
            if error.permanent or attempt >= self.num_retries:
                raise error
            wait = _backoff(attempt, said)
            if wait > MAX_INLINE_WAIT:
                raise error
            attempt += 1
            logger.info(
                "%s failed (%s), retry %d of %d in %.2fs",
                what,
                error,
                attempt,
                self.num_retries,
                wait,
            )
            time.sleep(wait)

    def _forget_http(self) -> None:
        # A connection that timed out may still deliver the old answer: start a new one.
        self._local.service = None

    def _fresh_token(self, request, *, stale: str | None) -> tuple[str, datetime | None]:
        """A usable access token (and its naive UTC expiry) to replace `stale`: another
        thread's or process's fresh token from the row if there is one, else one refresh at
        Google, saved (calendar_base.token_refresh)."""

        def ask(refresh_token: str) -> NewTokens:
            refreshed = Credentials(
                token=None,
                refresh_token=refresh_token,
                token_uri=settings.GOOGLE_OAUTH_TOKEN_URI,
                client_id=settings.GOOGLE_OAUTH_CLIENT_ID,
                client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET,
            )
            try:
                refreshed.refresh(request)
            except auth_exceptions.RefreshError as exc:
                raise _refresh_failed(exc) from None
            return NewTokens(refreshed.token, _aware_utc(refreshed.expiry), refreshed.refresh_token)

        token = fresh_access_token(
            self.connection,
            store=connections.store,
            service="Google",
            stale=stale,
            valid=_token_valid,
            ask=ask,
            not_connected=lambda: GoogleCalendarError(
                "Google Calendar is not connected",
                kind=connections.NOT_CONNECTED,
                permanent=True,
            ),
        )
        return token, _naive_utc(self.connection.access_token_expires_at)


def _refresh_failed(exc: auth_exceptions.RefreshError) -> Exception:
    """What a refused refresh means: a dead grant, Google down, or our client settings."""
    code, description = _refresh_error(exc)
    if code == "invalid_grant":
        detail = f"token refresh refused (invalid_grant: {description})"
        # The refresh token is dead: only the owner reconnecting can fix it.
        return GrantIsDead(
            detail, GoogleCalendarError(detail, kind=connections.TOKEN_REVOKED, permanent=True)
        )
    if exc.retryable:
        return GoogleCalendarError(
            f"token refresh failed ({code or 'server error'})", kind=connections.API_DOWN
        )
    # invalid_client, unauthorized_client...: our OAuth client settings, not the owner's.
    return GoogleCalendarError(
        f"token refresh refused ({code or 'error'}: {description}); "
        "check GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET",
        kind=connections.CALENDAR_ERROR,
        permanent=True,
    )


# -- Helpers ------------------------------------------------------------------------------------


def _http_error(what: str, exc: HttpError) -> GoogleCalendarError:
    status = exc.resp.status
    reason, message = _error_reason(exc)
    retry_after = _retry_after(exc.resp.get("retry-after"))
    text = f"{what}: Google answered {status} {reason or ''}".rstrip()
    if message:
        text += f" ({message})"
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return GoogleCalendarError(
            text,
            kind=connections.RATE_LIMITED,
            retry_after=retry_after if retry_after is not None else RATE_LIMIT_PAUSE,
            status=status,
        )
    if status >= 500:
        return GoogleCalendarError(
            text, kind=connections.API_DOWN, retry_after=retry_after, status=status
        )
    if status == 401:
        # Still refused after a fresh token: not a dead refresh token (that is invalid_grant).
        return GoogleCalendarError(text, kind=connections.TOKEN_REVOKED, status=status)
    return GoogleCalendarError(text, kind=connections.CALENDAR_ERROR, permanent=True, status=status)


def _error_reason(exc: HttpError) -> tuple[str, str]:
    """(first reason, message) of a Google error body, e.g. ("rateLimitExceeded", ...)."""
    details = exc.error_details
    reason = ""
    if isinstance(details, list) and details and isinstance(details[0], dict):
        reason = str(details[0].get("reason") or "")
    return reason, str(exc.reason or "")


def _retry_after(value: str | None) -> float | None:
    return retry_after_seconds(value)


def _backoff(attempt: int, retry_after: float | None) -> float:
    return backoff_seconds(attempt, retry_after, BACKOFF_BASE)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _event_body(booking) -> dict:
    """The event as Google stores it: the business's zone, what staff need to see."""
    business = booking.business
    zone = business.timezone
    return {
        "summary": event_title(booking),
        "description": event_description(booking),
        "start": {"dateTime": booking.start.astimezone(business.tz).isoformat(), "timeZone": zone},
        "end": {"dateTime": booking.end.astimezone(business.tz).isoformat(), "timeZone": zone},
        "extendedProperties": {"private": {BOOKING_PROPERTY: str(booking.pk)}},
    }
