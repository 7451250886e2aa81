"""CalendarSourceProvider: the native checks plus an outside calendar's busy times.

The calendar only ever *adds* busy times to our own bookings and opening hours, and it is
never allowed to break a call: when the calendar is not connected, down, rate limited or its
token is dead, availability falls back to the native checks, the booking still succeeds, and
the problem is recorded on the connection (admin) and logged.

Speed during a call: `prepare_for_call` fetches the busy times of the whole bookable horizon
in the background as soon as the call starts, so the caller's questions are answered from
memory. Right before a booking is committed the chosen slot is checked with the calendar
again (authoritative): an event added during the call still wins.

Subclasses (Google, Outlook) name their store and syncer and implement `ask_calendar`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from django import forms
from django.utils import timezone

from bookings.models import Booking
from bookings.orm import run_orm
from bookings.providers.base import BookingContext, ProviderOptionsForm
from bookings.providers.native import NativeBookingProvider, outside
from bookings.slots import Interval
from integrations.calendar_base import errors
from integrations.calendar_base.connections import ConnectionStore
from integrations.calendar_base.errors import CalendarError
from integrations.calendar_base.event_sync import EventSyncer
from integrations.calendar_base.models import CalendarConnection, EventSync
from integrations.calendar_base.off_loop import calendar_http

logger = logging.getLogger(__name__)

# Busy times fetched for a call are trusted this long (a call rarely lasts longer; the
# slot is re-checked live before booking anyway).
BUSY_TTL_SECONDS = 600
# After a failed fetch, don't make every answer wait on the calendar again straight away.
FAILURE_TTL_SECONDS = 30


class CalendarOptionsForm(ProviderOptionsForm):
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
class CalendarAnswer:
    busy: list[Interval]  # union over the calendars that answered: aware UTC, sorted
    unknown: dict[str, str]  # calendar id -> why the service could not say (never "free")


@dataclass(frozen=True)
class _BusyTimes:
    busy: tuple[Interval, ...]
    fetched_at: float  # time.monotonic()
    ok: bool

    def fresh(self) -> bool:
        ttl = BUSY_TTL_SECONDS if self.ok else FAILURE_TTL_SECONDS
        return time.monotonic() - self.fetched_at < ttl


class CalendarSourceProvider(NativeBookingProvider):
    options_form = CalendarOptionsForm
    calendar_source = True
    store: ClassVar[ConnectionStore]
    syncer: ClassVar[EventSyncer]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._busy: _BusyTimes | None = None
        self._fetching: asyncio.Future | None = None
        self._connection: CalendarConnection | None = None
        self._connection_loaded = False
        self._reported: set[str] = set()  # problems already recorded during this call

    # -- What a calendar integration implements --------------------------------------------

    async def ask_calendar(
        self, connection: CalendarConnection, start: datetime, end: datetime
    ) -> CalendarAnswer:
        """The connection's busy calendars between start and end, asked right now with the
        in-call timeout. Raises CalendarError (a dead token already recorded by the client)."""
        raise NotImplementedError

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
        """The calendars' busy times over context's slot, asked right now."""
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

    def remember_busy(self, busy: Sequence[Interval]) -> None:
        if self._busy is not None:
            merged = set(self._busy.busy) | set(busy)
            self._busy = _BusyTimes(
                busy=tuple(sorted(merged)), fetched_at=self._busy.fetched_at, ok=self._busy.ok
            )

    async def after_booking(self, context: BookingContext, booking_id: int) -> None:
        """Runs in the durable outbox (bookings.tasks): write the event, or raise to retry."""
        await calendar_http(self.syncer.create_event)(
            booking_id=booking_id, enabled=self.options["create_events"]
        )

    async def after_cancel(self, context: BookingContext, booking_id: int) -> None:
        await calendar_http(self.syncer.delete_event)(booking_id=booking_id)

    def on_booked(self, booking: Booking) -> bool:
        if not self.options["create_events"]:
            return False
        self.store.sync_model.objects.create(booking=booking)  # pending until the event is in
        return True

    def on_changed(self, booking: Booking) -> bool:
        # Only a booking that has (or waits for) its event follows the change.
        return bool(
            self.store.sync_model.objects.filter(booking=booking)
            .exclude(status=EventSync.Status.NOT_REQUIRED)
            .update(status=EventSync.Status.PENDING)
        )

    def on_cancelled(self, booking: Booking) -> bool:
        return (
            self.store.sync_model.objects.filter(booking=booking)
            .exclude(status=EventSync.Status.NOT_REQUIRED, event_id="")
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
        """Busy intervals from the calendar, or None when it can't tell us (recorded)."""
        connection = await self._load_connection()
        if connection is None or not connection.is_usable:
            self._degrade_not_connected(connection)
            return None
        try:
            answer = await self.ask_calendar(connection, start, end)
        except CalendarError as exc:
            # The client records a dead token itself (needs reconnect); the rest is ours.
            if exc.kind != errors.TOKEN_REVOKED:
                await self._record(connection, exc.kind, str(exc))
            logger.warning(
                "%s unavailable for %s (%s): using our own bookings only.",
                self.store.calendar,
                self.business.slug,
                exc.kind,
            )
            return None
        if answer.unknown:
            # An unreadable calendar is unknown, not free: staff must know it isn't checked.
            detail = ", ".join(f"{cal} ({why})" for cal, why in sorted(answer.unknown.items()))
            await self._record(connection, errors.CALENDAR_ERROR, detail)
        return list(answer.busy)

    async def _load_connection(self) -> CalendarConnection | None:
        if not self._connection_loaded:
            self._connection_loaded = True
            self._connection = await run_orm(self.store.connection_for)(self.business)
            if self._connection is not None and self._connection.tokens_unreadable:
                # FERNET_KEYS no longer opens the stored tokens: loud for ops, but the
                # caller still gets an answer from our own bookings.
                logger.error(
                    "%s tokens of %s cannot be decrypted with FERNET_KEYS "
                    "(a key was removed or changed): checking our own bookings only.",
                    self.store.calendar,
                    self.business.slug,
                )
                await run_orm(self.store.record_undecryptable)(business=self.business)
                self._connection = None
        return self._connection

    def _degrade_not_connected(self, connection: CalendarConnection | None) -> None:
        if errors.NOT_CONNECTED in self._reported:
            return
        self._reported.add(errors.NOT_CONNECTED)
        status = connection.get_status_display() if connection else "never connected"
        logger.warning(
            "Business %s uses the %s provider but the calendar is %s: "
            "checking our own bookings only.",
            self.business.slug,
            self.store.calendar,
            status.lower(),
        )

    async def _record(self, connection: CalendarConnection, kind: str, detail: str) -> None:
        if kind in self._reported:
            return  # once per call is enough for staff; the log has each one
        self._reported.add(kind)
        try:
            await run_orm(self.store.record_problem)(
                connection=connection, kind=kind, detail=detail
            )
        except Exception:
            logger.exception(
                "Could not record a %s problem for %s", self.store.calendar, connection
            )
