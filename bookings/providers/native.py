"""The native provider: our own opening hours and bookings, nothing external."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from bookings.models import Service
from bookings.orm import run_orm
from bookings.providers.base import (
    AvailabilityResult,
    BookingContext,
    BookingIntent,
    BookingProvider,
)
from bookings.services import book_slot, busy_intervals
from bookings.slots import Interval, Schedule, check_slot, free_starts, nearest_free_slots


class NativeBookingProvider(BookingProvider):
    name = "native"
    label = "Native (our bookings and opening hours)"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._schedule: Schedule | None = None

    # The ORM is synchronous: each helper below runs in a worker thread.

    async def check_availability(self, context: BookingContext) -> AvailabilityResult:
        return await run_orm(self._check)(context, await self.external_busy())

    async def create_booking(self, context: BookingContext) -> BookingIntent:
        return await run_orm(self._create)(context, await self.external_busy())

    async def after_booking(self, context: BookingContext, booking_id: int) -> None:
        return None  # nothing outside our database to update

    async def free_starts(
        self, *, service: Service, start: datetime, end: datetime, limit: int
    ) -> list[datetime]:
        return await run_orm(self._free_starts)(
            service, start, end, limit, await self.external_busy()
        )

    # -- The hook for providers that add busy times (e.g. an external calendar) ----------

    async def external_busy(self) -> Sequence[Interval]:
        """Busy times from outside our database over the bookable horizon, fetched off the
        ORM thread (it may wait on the network). Default: none."""
        return ()

    def busy(
        self, start: datetime, end: datetime, extra: Sequence[Interval] = ()
    ) -> list[Interval]:
        """Our bookings overlapping [start, end), plus the `extra` busy times that do."""
        ours = busy_intervals(self.business, start, end)
        return ours + [(s, e) for s, e in extra if s < end and e > start]

    def schedule(self) -> Schedule:
        # Loaded once per provider instance, i.e. once per call.
        if self._schedule is None:
            self._schedule = self.business.schedule()
        return self._schedule

    # -- Sync implementations ------------------------------------------------------------

    def _check(self, context: BookingContext, extra: Sequence[Interval]) -> AvailabilityResult:
        now = timezone.now()
        schedule = self.schedule()
        busy = self.busy(context.start, context.end, extra)
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
            sync_status=self.initial_sync_status(),
        )
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
        schedule = self.schedule()
        duration = context.end - context.start
        search_end = now + schedule.horizon + duration
        search_start = min(context.start, now) - timedelta(days=1)
        return nearest_free_slots(
            schedule,
            wanted=context.start,
            duration=duration,
            busy=self.busy(search_start, search_end, extra),
            now=now,
        )

    def _free_starts(
        self,
        service: Service,
        start: datetime,
        end: datetime,
        limit: int,
        extra: Sequence[Interval] = (),
    ) -> list[datetime]:
        starts = free_starts(
            self.schedule(),
            duration=service.duration,
            busy=self.busy(start, end, extra),
            now=timezone.now(),
            between=(start, end),
        )
        return starts[:limit]
