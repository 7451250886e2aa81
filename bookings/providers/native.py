"""The native provider: our own opening hours and bookings, nothing external."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from django.utils import timezone

from bookings.models import Booking, Service
from bookings.orm import run_orm
from bookings.providers.base import (
    AvailabilityResult,
    BookingContext,
    BookingIntent,
    BookingProvider,
    does_nothing,
)
from bookings.services import book_slot, busy_intervals
from bookings.services import move_booking as move_booked_slot
from bookings.slots import (
    Interval,
    Refusal,
    Schedule,
    check_slot,
    free_starts,
    nearest_free_slots,
    overlaps,
)


def outside(intervals: Sequence[Interval], hole: Interval | None) -> list[Interval]:
    """`intervals` with whatever lies inside `hole` cut out."""
    if hole is None:
        return list(intervals)
    hole_start, hole_end = hole
    kept: list[Interval] = []
    for start, end in intervals:
        if end <= hole_start or start >= hole_end:
            kept.append((start, end))
            continue
        if start < hole_start:
            kept.append((start, hole_start))
        if end > hole_end:
            kept.append((hole_end, end))
    return kept


class NativeBookingProvider(BookingProvider):
    name = "native"
    label = "Native (our bookings and opening hours)"

    # The ORM is synchronous: each helper below runs in a worker thread.

    async def check_availability(self, context: BookingContext) -> AvailabilityResult:
        return await run_orm(self._check)(context, await self.external_busy())

    async def create_booking(self, context: BookingContext) -> BookingIntent:
        return await self._commit_after_live_check(
            context, lambda extra: self._create(context, extra)
        )

    async def move_booking(self, context: BookingContext, booking_id: int) -> BookingIntent:
        context = replace(context, moving_booking_id=booking_id)
        return await self._commit_after_live_check(
            context, lambda extra: self._move(context, booking_id, extra)
        )

    @does_nothing
    async def after_booking(self, context: BookingContext, booking_id: int) -> None:
        return None  # nothing outside our database to update

    async def free_starts(
        self,
        *,
        service: Service,
        start: datetime,
        end: datetime,
        limit: int,
        moving_booking_id: int | None = None,
    ) -> list[datetime]:
        return await run_orm(self._free_starts)(
            service, start, end, limit, await self.external_busy(), moving_booking_id
        )

    # -- The hook for providers that add busy times (e.g. an external calendar) ----------

    async def external_busy(self) -> Sequence[Interval]:
        """Busy times from outside our database over the bookable horizon, fetched off the
        ORM thread (it may wait on the network). Default: none."""
        return ()

    async def live_busy(self, context: BookingContext) -> Sequence[Interval] | None:
        """The outside source's busy times around context's slot, asked right now, right
        before it is booked (an event added during the call wins); a moved booking's own
        time excluded. None: no outside source, or it can't answer now (recorded)."""
        return None

    def known_busy(self) -> Sequence[Interval]:
        """The outside busy times this call already knows, without waiting. Default: none."""
        return ()

    def remember_busy(self, busy: Sequence[Interval]) -> None:
        """Busy times learnt by a live check, kept for this call's next answers."""

    async def _commit_after_live_check(
        self, context: BookingContext, commit: Callable[[Sequence[Interval]], BookingIntent]
    ) -> BookingIntent:
        """Re-check context's slot with the outside source (live_busy), then run `commit`
        (sync, on the ORM thread, given the known busy times to take alternatives from).
        When the source can't answer, book on what we know rather than make the caller wait
        for a second attempt."""
        live = await self.live_busy(context)
        if live and overlaps(context.start, context.end + context.service.buffer, live):
            # Someone put an event there during the call: refuse like a lost race.
            self.remember_busy(live)
            alternatives = await run_orm(self._alternatives)(
                context, timezone.now(), self.known_busy()
            )
            return BookingIntent(booked=False, reason=Refusal.TAKEN, alternatives=alternatives)
        return await run_orm(commit)(self.known_busy())

    def busy(
        self,
        start: datetime,
        end: datetime,
        extra: Sequence[Interval] = (),
        *,
        moving_booking_id: int | None = None,
    ) -> list[Interval]:
        """Our bookings overlapping [start, end), plus the `extra` busy times that do.

        A booking being moved is not in its own way: neither its row nor the extra busy
        time inside its slot counts (that is its own calendar event; anything else there
        was double-booked with it anyway)."""
        ours = busy_intervals(self.business, start, end, exclude_id=moving_booking_id)
        theirs = list(extra)
        if moving_booking_id is not None:
            theirs = outside(theirs, self.own_slot(moving_booking_id))
        return ours + [(s, e) for s, e in theirs if s < end and e > start]

    def own_slot(self, booking_id: int) -> Interval | None:
        """The current slot of one of this business's bookings (None if there is none)."""
        return (
            Booking.objects.filter(pk=booking_id, business=self.business)
            .values_list("start", "end")
            .first()
        )

    def schedule(self, service: Service | None = None) -> Schedule:
        """The business's schedule, as `service` sees it (its own hours, buffer, notice)."""
        return self.business.schedule().for_service(service.pk if service is not None else None)

    # -- Sync implementations ------------------------------------------------------------

    def _check(self, context: BookingContext, extra: Sequence[Interval]) -> AvailabilityResult:
        now = timezone.now()
        schedule = self.schedule(context.service)
        busy = self.busy(
            context.start,
            context.end + schedule.buffer,
            extra,
            moving_booking_id=context.moving_booking_id,
        )
        refusal = check_slot(schedule, context.start, context.end, busy, now)
        if refusal is None:
            return AvailabilityResult(available=True)
        return AvailabilityResult(
            available=False, reason=refusal, alternatives=self._alternatives(context, now, extra)
        )

    def _create(self, context: BookingContext, extra: Sequence[Interval]) -> BookingIntent:
        outcome = book_slot(
            business=self.business,
            service=context.service,
            start=context.start,
            customer_name=context.customer_name,
            customer_phone=context.customer_phone,
            provider=self.name,
            call_sid=context.call_sid,
        )
        if outcome.booking is not None:
            return BookingIntent(booked=True, booking_id=outcome.booking.pk)
        return BookingIntent(
            booked=False,
            reason=outcome.refusal,
            alternatives=self._alternatives(context, timezone.now(), extra),
        )

    def _move(
        self, context: BookingContext, booking_id: int, extra: Sequence[Interval]
    ) -> BookingIntent:
        # services.move_booking cancels and rebooks in one transaction, under book_slot's
        # guarantees (IMMEDIATE on SQLite, the exclusion constraint on Postgres).
        booking = Booking.objects.select_related("business", "service").get(
            pk=booking_id, business=self.business
        )
        if context.moving_from is not None:
            # As the caller heard it: if staff have changed it since, nothing moves
            # (services.locked_as_read_back).
            booking.start, booking.service = context.moving_from, context.service
        outcome = move_booked_slot(booking=booking, start=context.start, call_sid=context.call_sid)
        if outcome.booking is not None:
            return BookingIntent(booked=True, booking_id=outcome.booking.pk)
        return BookingIntent(
            booked=False,
            reason=outcome.refusal,
            alternatives=self._alternatives(context, timezone.now(), extra),
        )

    def _alternatives(
        self, context: BookingContext, now: datetime, extra: Sequence[Interval] = ()
    ) -> list[datetime]:
        schedule = self.schedule(context.service)
        duration = context.end - context.start
        search_end = now + schedule.horizon + duration + schedule.buffer
        search_start = min(context.start, now) - timedelta(days=1)
        return nearest_free_slots(
            schedule,
            wanted=context.start,
            duration=duration,
            busy=self.busy(
                search_start, search_end, extra, moving_booking_id=context.moving_booking_id
            ),
            now=now,
        )

    def _free_starts(
        self,
        service: Service,
        start: datetime,
        end: datetime,
        limit: int,
        extra: Sequence[Interval] = (),
        moving_booking_id: int | None = None,
    ) -> list[datetime]:
        schedule = self.schedule(service)
        starts = free_starts(
            schedule,
            duration=service.duration,
            busy=self.busy(
                start, end + schedule.buffer, extra, moving_booking_id=moving_booking_id
            ),
            now=timezone.now(),
            between=(start, end),
        )
        return starts[:limit]
