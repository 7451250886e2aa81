"""The one seam for Microsoft Graph HTTP: timeouts, the retry budget, token refresh and
readable errors live here, so the provider and the sync tasks never see requests or msal.

    client = GraphClient(connection)
    answer = client.get_schedule(start, end)          # busy times (calendarView); sync
    answer = await client.aget_schedule(start, end)

Tokens. The cached access token (encrypted on the connection) is used while it has more than
REFRESH_MARGIN left, so a warm call costs one round trip. Otherwise, and after a 401 from
Graph, the token is refreshed through calendar_base.token_refresh: the row is re-read (another
thread or process may have refreshed already), msal asks the token endpoint outside any
transaction (`acquire_token_by_refresh_token`), and the answer, with Microsoft's rotated
refresh token, is saved unless another refresh saved first (compare-and-swap).
`invalid_grant` (the grant is dead) marks the connection "needs reconnect"; every other
error is raised as CalendarError for the caller to record.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.utils import timezone
from msal.exceptions import MsalServiceError

from bookings.slots import Interval
from integrations.calendar_base import errors
from integrations.calendar_base.errors import CalendarError, backoff_seconds, retry_after_seconds
from integrations.calendar_base.event_text import event_description, event_title, merge_busy
from integrations.calendar_base.off_loop import off_loop, overall_timeout
from integrations.calendar_base.provider import CalendarAnswer
from integrations.calendar_base.token_refresh import GrantIsDead, NewTokens, fresh_access_token
from integrations.microsoft_calendar import identity
from integrations.microsoft_calendar.connections import store
from integrations.microsoft_calendar.models import DEFAULT_CALENDAR, OutlookCalendarConnection

logger = logging.getLogger(__name__)

# Events per calendarView page (Graph's default is 10; @odata.nextLink gives the rest).
CALENDAR_VIEW_PAGE = 100
# Event showAs values that make a time busy for us ("free" and "workingElsewhere" don't).
BUSY_STATUSES = {"busy", "tentative", "oof", "unknown"}
# Refresh this long before Microsoft's expiry (clock skew, a slow request).
REFRESH_MARGIN = timedelta(minutes=5)
BACKOFF_BASE = 0.5  # tests set it to 0
MAX_INLINE_WAIT = 5.0  # a longer wait goes back to the caller (outbox, degradation)
RATE_LIMIT_PAUSE = 30.0  # when a 429 carries no Retry-After
SERVICE = "Microsoft Graph"


@dataclass(frozen=True)
class CalendarInfo:
    id: str
    name: str
    can_edit: bool
    is_default: bool


def transaction_id_for(booking) -> str:
    """Graph's event `transactionId` for a booking: the same for every attempt, so a retried
    create returns the event made the first time instead of a second one. The creation time
    is part of it so a reused primary key (a restored database) never collides."""
    created = booking.created_at.isoformat() if booking.created_at else ""
    seed = f"receptionist|{booking.business_id}|{booking.pk}|{created}".encode()
    return str(uuid.UUID(bytes=hashlib.sha256(seed).digest()[:16]))


# One HTTP session per thread, kept across clients: a Graph request on a warm connection
# costs one round trip, not a new TLS handshake each time (requests.Session is not
# thread-safe, so never shared between threads).
_sessions = threading.local()


def _thread_session() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = identity.HttpSession()
    return session


def _forget_thread_session() -> None:
    session = getattr(_sessions, "session", None)
    if session is not None:
        session.close()
    _sessions.session = None


def _token_valid(token: str | None, expires_at: datetime | None) -> bool:
    return bool(token) and expires_at is not None and expires_at - timezone.now() > REFRESH_MARGIN


class GraphClient:
    """Microsoft Graph for one connection. The sync methods block: call them from a thread,
    or use the `a*` wrappers from async code. Each thread gets its own HTTP session."""

    def __init__(
        self,
        connection: OutlookCalendarConnection,
        *,
        timeout: float | None = None,
        num_retries: int | None = None,
        inline_wait: float = MAX_INLINE_WAIT,
    ) -> None:
        """`inline_wait`: the longest throttling (a 429, or any Retry-After) is waited out
        here before retrying; longer goes back to the caller. 0 during a call: a caller is
        never kept waiting on Microsoft's throttling (the answer degrades at once)."""
        self.connection = connection
        self.inline_wait = min(float(inline_wait), MAX_INLINE_WAIT)
        self.timeout = float(settings.MICROSOFT_HTTP_TIMEOUT if timeout is None else timeout)
        self.num_retries = int(
            settings.MICROSOFT_NUM_RETRIES if num_retries is None else num_retries
        )

    # -- Availability ------------------------------------------------------------------------

    def get_schedule(self, start: datetime, end: datetime) -> CalendarAnswer:
        """The account's busy times between start and end, from the calendar staff picked
        (the default one unless they chose another): its calendarView, which works for work
        and personal (Outlook.com) accounts alike -- getSchedule does not support personal
        accounts. Cancelled events and ones shown as free or workingElsewhere don't count."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("get_schedule needs aware datetimes")
        calendar_id = self.connection.write_calendar_id
        base = (
            "/me/calendarView"
            if calendar_id == DEFAULT_CALENDAR
            else f"/me/calendars/{_segment(calendar_id)}/calendarView"
        )
        query = urlencode(
            {
                "startDateTime": _graph_instant(start),
                "endDateTime": _graph_instant(end),
                "$select": "showAs,isCancelled,start,end",
                "$top": str(CALENDAR_VIEW_PAGE),
            }
        )
        busy: list[Interval] = []
        url: str | None = f"{base}?{query}"
        while url:
            page = self._call(
                "calendarView",
                "GET",
                url,
                # Times come back in UTC, said out loud (else the mailbox's zone).
                headers={"Prefer": 'outlook.timezone="UTC"'},
            )
            busy.extend(
                (_parse_graph_time(entry["start"]), _parse_graph_time(entry["end"]))
                for entry in page.get("value") or []
                if not entry.get("isCancelled")
                and str(entry.get("showAs") or "busy") in BUSY_STATUSES
            )
            url = page.get("@odata.nextLink")
        return CalendarAnswer(busy=merge_busy(busy), unknown={})

    async def aget_schedule(
        self, start: datetime, end: datetime, *, deadline: float | None = None
    ) -> CalendarAnswer:
        budget = self.overall_timeout if deadline is None else deadline
        return await off_loop(
            lambda: self.get_schedule(start, end),
            budget=budget,
            what="calendarView",
            service=SERVICE,
        )

    @property
    def overall_timeout(self) -> float:
        # Plus the throttling waits taken inline, so one is never cut short as "down".
        return (
            overall_timeout(
                timeout=self.timeout,
                num_retries=self.num_retries,
                max_wait=MAX_INLINE_WAIT,
                base=BACKOFF_BASE,
            )
            + self.num_retries * self.inline_wait
        )

    # -- Events --------------------------------------------------------------------------------

    def insert_event(self, booking) -> str:
        """Create the booking's event in the write calendar; returns its id. Creating the same
        booking again returns the first event: Graph matches the transactionId."""
        calendar_id = self.connection.write_calendar_id
        path = (
            "/me/calendar/events"
            if calendar_id == DEFAULT_CALENDAR
            else f"/me/calendars/{_segment(calendar_id)}/events"
        )
        body = {"transactionId": transaction_id_for(booking), **_event_body(booking)}
        created = self._call("events.create", "POST", path, json=body)
        return created["id"]

    def update_event(self, calendar_id: str, event_id: str, booking) -> None:
        """Rewrite an existing event from the booking (its time or details changed)."""
        self._call(
            "events.update", "PATCH", f"/me/events/{_segment(event_id)}", json=_event_body(booking)
        )

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Delete an event; one that is already gone (404) is fine."""
        try:
            self._call("events.delete", "DELETE", f"/me/events/{_segment(event_id)}")
        except CalendarError as exc:
            if exc.status in (404, 410):
                logger.info("Outlook event %s was already gone.", event_id)
                return
            raise

    # -- The account -----------------------------------------------------------------------------

    def list_calendars(self) -> list[CalendarInfo]:
        calendars: list[CalendarInfo] = []
        url: str | None = "/me/calendars?$select=id,name,canEdit,isDefaultCalendar"
        while url:
            page = self._call("calendars.list", "GET", url)
            calendars.extend(
                CalendarInfo(
                    id=entry["id"],
                    name=entry.get("name") or entry["id"],
                    can_edit=bool(entry.get("canEdit")),
                    is_default=bool(entry.get("isDefaultCalendar")),
                )
                for entry in page.get("value") or []
            )
            url = page.get("@odata.nextLink")
        return calendars

    def account_address(self) -> str:
        """The signed-in account's address: its mail, else its sign-in name."""
        me = self._call("me", "GET", "/me?$select=mail,userPrincipalName,displayName")
        return str(me.get("mail") or me.get("userPrincipalName") or "")

    # -- Plumbing ------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        return _thread_session()

    def _forget_session(self) -> None:
        # A connection that timed out may still deliver the old answer: start a new one.
        _forget_thread_session()

    def _call(
        self,
        what: str,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One Graph request with the retry budget: 5xx, 429 and dropped connections are
        retried up to num_retries times (Retry-After, else jittered backoff); a 401 gets one
        fresh token. Returns the JSON answer ({} for 204)."""
        if not self.connection.is_usable:
            raise CalendarError(
                "Outlook Calendar is not connected", kind=errors.NOT_CONNECTED, permanent=True
            )
        url = path if path.startswith("https://") else settings.MICROSOFT_GRAPH_ENDPOINT + path
        attempt = 0
        refreshed = False
        while True:
            token = self._token()
            try:
                response = self._session().request(
                    method,
                    url,
                    json=json,
                    headers={"Authorization": f"Bearer {token}", **(headers or {})},
                    timeout=self.timeout,
                )
            except requests.Timeout:
                # Not retried: a timeout already spent the caller's patience once.
                self._forget_session()
                raise CalendarError(
                    f"{what}: Microsoft Graph did not answer within {self.timeout:g}s",
                    kind=errors.API_DOWN,
                ) from None
            except requests.RequestException as exc:
                self._forget_session()
                error = CalendarError(
                    f"{what}: could not reach Microsoft Graph ({type(exc).__name__})",
                    kind=errors.API_DOWN,
                )
                said = None
            else:
                if response.status_code < 300:
                    return response.json() if response.content else {}
                if response.status_code == 401 and not refreshed:
                    refreshed = True
                    self._fresh_token(stale=token)
                    continue
                error = _http_error(what, response)
                said = retry_after_seconds(response.headers.get("Retry-After"))
            if error.status == 401:
                # Refused even with a fresh token: staff should see it; a later try may work.
                store.record_problem(
                    connection=self.connection, kind=errors.TOKEN_REVOKED, detail=str(error)
                )
                raise error
            if error.permanent or attempt >= self.num_retries:
                raise error
            wait = backoff_seconds(attempt, said, BACKOFF_BASE)
            throttled = error.kind == errors.RATE_LIMITED or said is not None
            if throttled and (self.inline_wait <= 0 or wait > self.inline_wait):
                raise error
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

    def _token(self) -> str:
        connection = self.connection
        if _token_valid(connection.access_token, connection.access_token_expires_at):
            return connection.access_token
        return self._fresh_token(stale=connection.access_token)

    def _fresh_token(self, *, stale: str | None) -> str:
        """A usable access token to replace `stale`: another thread's or process's fresh one
        from the row if there is one, else one refresh at Microsoft, saved."""
        return fresh_access_token(
            self.connection,
            store=store,
            service="Microsoft",
            stale=stale,
            valid=_token_valid,
            ask=_ask_microsoft,
            not_connected=lambda: CalendarError(
                "Outlook Calendar is not connected", kind=errors.NOT_CONNECTED, permanent=True
            ),
        )


def _ask_microsoft(refresh_token: str) -> NewTokens:
    try:
        result = identity.confidential_app().acquire_token_by_refresh_token(
            refresh_token, scopes=identity.SCOPES
        )
    except (requests.RequestException, MsalServiceError, ValueError) as exc:
        raise CalendarError(
            f"token refresh failed: no answer from Microsoft ({type(exc).__name__})",
            kind=errors.API_DOWN,
        ) from None
    answer = identity.token_answer(result)
    if answer.error:
        raise _refresh_failed(answer)
    return NewTokens(answer.access_token, answer.expires_at, answer.refresh_token)


def _refresh_failed(answer: identity.TokenAnswer) -> Exception:
    detail = f"token refresh refused ({answer.error}: {answer.description})"
    if answer.grant_is_dead:
        # Only the owner reconnecting can fix it.
        return GrantIsDead(detail, CalendarError(detail, kind=errors.TOKEN_REVOKED, permanent=True))
    if answer.client_is_wrong:
        return CalendarError(
            f"{detail}; check MICROSOFT_OAUTH_CLIENT_ID and MICROSOFT_OAUTH_CLIENT_SECRET",
            kind=errors.CALENDAR_ERROR,
            permanent=True,
        )
    return CalendarError(detail, kind=errors.API_DOWN)


# -- Helpers ------------------------------------------------------------------------------------


def _http_error(what: str, response: requests.Response) -> CalendarError:
    status = response.status_code
    code, message = _error_code(response)
    text = f"{what}: Microsoft Graph answered {status} {code}".rstrip()
    if message:
        text += f" ({message[:300]})"
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 429:
        return CalendarError(
            text,
            kind=errors.RATE_LIMITED,
            retry_after=retry_after if retry_after is not None else RATE_LIMIT_PAUSE,
            status=status,
        )
    if status >= 500:
        return CalendarError(text, kind=errors.API_DOWN, retry_after=retry_after, status=status)
    if status == 401:
        return CalendarError(text, kind=errors.TOKEN_REVOKED, status=status)
    return CalendarError(text, kind=errors.CALENDAR_ERROR, permanent=True, status=status)


def _error_code(response: requests.Response) -> tuple[str, str]:
    """(code, message) of Graph's {"error": {"code", "message"}} body."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def _segment(value: str) -> str:
    return requests.utils.quote(value, safe="")


def _graph_instant(moment: datetime) -> str:
    """An ISO 8601 instant in UTC for calendarView's startDateTime/endDateTime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_graph_time(value: dict) -> datetime:
    """A dateTimeTimeZone we asked for in UTC ("2026-12-01T14:00:00.0000000", "UTC")."""
    text = str(value["dateTime"])
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        if str(value.get("timeZone") or "UTC").upper() not in ("UTC", "COORDINATED UNIVERSAL TIME"):
            raise CalendarError(
                f"calendarView answered in {value.get('timeZone')!r}, not UTC",
                kind=errors.CALENDAR_ERROR,
                permanent=True,
            )
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _event_body(booking) -> dict:
    """The event as Outlook stores it: local times in the business's IANA zone."""
    business = booking.business
    zone = business.timezone
    return {
        "subject": event_title(booking),
        "body": {"contentType": "text", "content": event_description(booking)},
        "start": {"dateTime": _local(booking.start, business.tz), "timeZone": zone},
        "end": {"dateTime": _local(booking.end, business.tz), "timeZone": zone},
        "showAs": "busy",
    }


def _local(moment: datetime, tz) -> str:
    return moment.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")
