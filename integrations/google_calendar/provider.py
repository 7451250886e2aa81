"""GoogleCalendarProvider: the native checks plus the connected calendars' busy times.

Google only ever *adds* busy times to our own bookings and opening hours, and it is never
allowed to break a call: when the calendar is not connected, down, rate limited or its token
is dead, availability falls back to the native checks, the booking still succeeds, and the
problem is recorded on the connection (admin) and logged.

Speed during a call: `prepare_for_call` fetches the busy times of the whole bookable horizon
in the background as soon as the call starts, so the caller's questions are answered from
memory. Right before a booking is committed the chosen slot is checked with Google again
(authoritative): an event added to the calendar during the call still wins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from django import forms
from django.conf import settings
from django.utils import timezone

from bookings.models import Booking
from bookings.orm import run_orm
from bookings.providers.base import BookingContext, ProviderOptionsForm
from bookings.providers.native import NativeBookingProvider, outside
from bookings.slots import Interval
from integrations.google_calendar import connections, event_sync
from integrations.google_calendar.client import CalendarClient, GoogleCalendarError
from integrations.google_calendar.models import (
    PRIMARY,
    CalendarEventSync,
    GoogleCalendarConnection,
)

logger = logging.getLogger(__name__)

# Busy times fetched for a call are trusted this long (a call rarely lasts longer; the
# slot is re-checked live before booking anyway).
BUSY_TTL_SECONDS = 600
# After a failed fetch, don't make every answer wait on Google again straight away.
FAILURE_TTL_SECONDS = 30
# In a call the caller is waiting (settings.GOOGLE_IN_CALL_TIMEOUT): fail fast and degrade
# rather than retry for long.
IN_CALL_RETRIES = 1


def in_call_timeout() -> float:
    return settings.GOOGLE_IN_CALL_TIMEOUT


class GoogleCalendarOptionsForm(ProviderOptionsForm):
    check_availability = forms.BooleanField(
        required=False,
        initial=True,
        label="Check the calendar's busy times",
        help_text="Off: only our own bookings and opening hours decide availability.",
    )
    create_events = forms.BooleanField(
        required=False,
        initial=True,
        label="Create calendar events for bookings",
    )


@dataclass(frozen=True)
class _BusyTimes:
    busy: tuple[Interval, ...]
    fetched_at: float  # time.monotonic()
    ok: bool

    def fresh(self) -> bool:
        ttl = BUSY_TTL_SECONDS if self.ok else FAILURE_TTL_SECONDS
        return time.monotonic() - self.fetched_at < ttl


class GoogleCalendarProvider(NativeBookingProvider):
    name = "google_calendar"
    label = "Google Calendar (our bookings, opening hours and the calendar's busy times)"
    options_form = GoogleCalendarOptionsForm
    calendar_source = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._busy: _BusyTimes | None = None
        self._fetching: asyncio.Future | None = None
        self._connection: GoogleCalendarConnection | None = None
        self._connection_loaded = False
        self._reported: set[str] = set()  # problems already recorded during this call

    # -- The provider contract ----------------------------------------------------------

    async def prepare_for_call(self) -> None:
        await self.external_busy()

    async def external_busy(self) -> Sequence[Interval]:
        """The calendars' busy times over the bookable horizon: from this call's memory when
        fresh, else fetched (once, however many answers are waiting for it)."""
        if not self.options["check_availability"]:
            return ()
        if self._busy is not None and self._busy.fresh():
            return self._busy.busy
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.ensure_future(self._fetch_horizon())
        # Shielded: an interrupted answer must not cancel a fetch the next answer needs.
        return await asyncio.shield(self._fetching)

    async def live_busy(self, context: BookingContext) -> Sequence[Interval] | None:
        """The calendars' busy times over context's slot, asked of Google right now."""
        if not self.options["check_availability"]:
            return None
        busy = await self._fetch(context.start, context.end + context.service.buffer)
        if busy is not None and context.moving_booking_id is not None:
            # A moved booking's own event is not in its way (see NativeBookingProvider.busy).
            busy = outside(busy, await run_orm(self.own_slot)(context.moving_booking_id))
        return busy

    async def calendar_busy(self, start: datetime, end: datetime) -> Sequence[Interval] | None:
        if not self.options["check_availability"]:
            return ()
        return await self._fetch(start, end)

    def known_busy(self) -> Sequence[Interval]:
        return self._busy.busy if self._busy is not None else ()

    async def after_booking(self, context: BookingContext, booking_id: int) -> None:
        """Runs in the durable outbox (bookings.tasks): write the event, or raise to retry."""
        await database_sync_to_async(event_sync.create_event, thread_sensitive=False)(
            booking_id=booking_id, enabled=self.options["create_events"]
        )

    async def after_cancel(self, context: BookingContext, booking_id: int) -> None:
        await database_sync_to_async(event_sync.delete_event, thread_sensitive=False)(
            booking_id=booking_id
        )

    def on_booked(self, booking: Booking) -> bool:
        if not self.options["create_events"]:
            return False
        CalendarEventSync.objects.create(booking=booking)  # pending until the event is in
        return True

    def on_changed(self, booking: Booking) -> bool:
        # Only a booking that has (or waits for) its event follows the change.
        return bool(
            CalendarEventSync.objects.filter(booking=booking)
            .exclude(status=CalendarEventSync.Status.NOT_REQUIRED)
            .update(status=CalendarEventSync.Status.PENDING)
        )

    def on_cancelled(self, booking: Booking) -> bool:
        return (
            CalendarEventSync.objects.filter(booking=booking)
            .exclude(status=CalendarEventSync.Status.NOT_REQUIRED, event_id="")
            .exists()
        )

    # -- Fetching busy times --------------------------------------------------------------

    async def _fetch_horizon(self) -> tuple[Interval, ...]:
        now = timezone.now()
        horizon = timedelta(days=self.business.horizon_days)
        # The alternatives search looks a day either side of what can be booked.
        busy = await self._fetch(now - timedelta(days=1), now + horizon + timedelta(days=2))
        self._busy = _BusyTimes(
            busy=tuple(busy or ()), fetched_at=time.monotonic(), ok=busy is not None
        )
        return self._busy.busy

    async def _fetch(self, start: datetime, end: datetime) -> list[Interval] | None:
        """Busy intervals from Google, or None when Google can't tell us (recorded)."""
        connection = await self._load_connection()
        if connection is None or not connection.is_usable:
            self._degrade_not_connected(connection)
            return None
        client = CalendarClient(connection, timeout=in_call_timeout(), num_retries=IN_CALL_RETRIES)
        calendars = connection.busy_calendar_ids or [PRIMARY]
        try:
            free_busy = await client.afree_busy(calendars, start, end)
        except GoogleCalendarError as exc:
            # The client records a dead token itself (needs reconnect); the rest is ours.
            if exc.kind != connections.TOKEN_REVOKED:
                await self._record(connection, exc.kind, str(exc))
            logger.warning(
                "Google Calendar unavailable for %s (%s): using our own bookings only.",
                self.business.slug,
                exc.kind,
            )
            return None
        if free_busy.unknown:
            # An unreadable calendar is unknown, not free: staff must know it isn't checked.
            detail = ", ".join(f"{cal} ({why})" for cal, why in sorted(free_busy.unknown.items()))
            await self._record(connection, connections.CALENDAR_ERROR, detail)
        return list(free_busy.busy)

    def remember_busy(self, busy: Sequence[Interval]) -> None:
        if self._busy is not None:
            merged = set(self._busy.busy) | set(busy)
            self._busy = _BusyTimes(
                busy=tuple(sorted(merged)), fetched_at=self._busy.fetched_at, ok=self._busy.ok
            )

    async def _load_connection(self) -> GoogleCalendarConnection | None:
        if not self._connection_loaded:
            self._connection_loaded = True
            self._connection = await run_orm(connections.connection_for)(self.business)
            if self._connection is not None and self._connection.tokens_unreadable:
                # FERNET_KEYS no longer opens the stored tokens: loud for ops, but the
                # caller still gets an answer from our own bookings.
                logger.error(
                    "Google Calendar tokens of %s cannot be decrypted with FERNET_KEYS "
                    "(a key was removed or changed): checking our own bookings only.",
                    self.business.slug,
                )
                await run_orm(connections.record_undecryptable)(business=self.business)
                self._connection = None
        return self._connection

    def _degrade_not_connected(self, connection: GoogleCalendarConnection | None) -> None:
        if connections.NOT_CONNECTED in self._reported:
            return
        self._reported.add(connections.NOT_CONNECTED)
        status = connection.get_status_display() if connection else "never connected"
        logger.warning(
            "Business %s uses the Google Calendar provider but the calendar is %s: "
            "checking our own bookings only.",
            self.business.slug,
            status.lower(),
        )

    async def _record(self, connection: GoogleCalendarConnection, kind: str, detail: str) -> None:
        if kind in self._reported:
            return  # once per call is enough for staff; the log has each one
        self._reported.add(kind)
        try:
            await run_orm(connections.record_problem)(
                connection=connection, kind=kind, detail=detail
            )
        except Exception:
            logger.exception("Could not record a Google Calendar problem for %s", connection)
