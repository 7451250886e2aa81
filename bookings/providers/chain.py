"""Several calendars checked together: a provider made of providers.

A business may combine sources, e.g. the owner's personal Google calendar and the salon's
Outlook. The chain is one more provider in the registry (no special case anywhere else):
our own bookings and opening hours as always, plus every chosen source's busy times; a slot
is busy if any source says so. Bookings are written (as events) to the one source chosen
for them, through that source's own after_booking; the others are only read.

Sources are the registered providers that declare `calendar_source = True` (Google today;
an Outlook provider joins by declaring it too). Each source degrades on its own exactly as
it does alone: one that is down, rate limited or revoked adds nothing, records the problem
where staff see it (its connection in admin), and the others still count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from django import forms

from bookings.orm import run_orm
from bookings.providers.base import BookingContext, BookingProvider, ProviderOptionsForm
from bookings.providers.native import NativeBookingProvider
from bookings.providers.registry import PROVIDERS, provider_class
from bookings.slots import Interval

NO_EVENTS = ""


def calendar_source_choices() -> list[tuple[str, str]]:
    return [(key, cls.label) for key, cls in PROVIDERS.items() if cls.calendar_source]


def write_choices() -> list[tuple[str, str]]:
    return [(NO_EVENTS, "Nowhere (our bookings only)"), *calendar_source_choices()]


class ChainOptionsForm(ProviderOptionsForm):
    sources = forms.MultipleChoiceField(
        choices=calendar_source_choices,
        required=False,
        initial=(),
        widget=forms.CheckboxSelectMultiple,
        label="Calendars checked for busy times",
        help_text="Every ticked calendar is checked; a time is free only if all of them "
        "(and our own bookings) say so.",
    )
    write_events_to = forms.ChoiceField(
        choices=write_choices,
        required=False,
        initial=NO_EVENTS,
        label="Write bookings as events to",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        writer = cleaned.get("write_events_to") or NO_EVENTS
        if writer and writer not in (cleaned.get("sources") or []):
            self.add_error("write_events_to", "Choose one of the calendars that are checked.")
        return cleaned


class ChainProvider(NativeBookingProvider):
    name = "chain"
    label = "Several calendars (our bookings, opening hours and every chosen calendar)"
    options_form = ChainOptionsForm

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        keys = [key for key in self.options.get("sources") or [] if key in PROVIDERS]
        self.sources: dict[str, NativeBookingProvider] = {
            key: self._member(key) for key in dict.fromkeys(keys)
        }
        self.writer: BookingProvider | None = self.sources.get(
            self.options.get("write_events_to") or NO_EVENTS
        )

    def _member(self, key: str) -> NativeBookingProvider:
        cls = provider_class(key)
        # A source in a chain is read with its defaults; whether it writes events is the
        # chain's choice (only the writer's after_booking ever runs).
        return cls(self.business, options=cls.clean_options({}))

    # -- Reading: every source, side by side -----------------------------------------------

    async def prepare_for_call(self) -> None:
        await asyncio.gather(*(source.prepare_for_call() for source in self.sources.values()))

    async def external_busy(self) -> Sequence[Interval]:
        answers = await asyncio.gather(
            *(source.external_busy() for source in self.sources.values())
        )
        return _union(answers)

    async def live_busy(self, context: BookingContext) -> Sequence[Interval] | None:
        answers = await asyncio.gather(
            *(source.live_busy(context) for source in self.sources.values())
        )
        known = [answer for answer in answers if answer is not None]
        return _union(known) if known else None

    async def calendar_busy(self, start, end) -> Sequence[Interval] | None:
        answers = await asyncio.gather(
            *(source.calendar_busy(start, end) for source in self.sources.values())
        )
        known = [answer for answer in answers if answer is not None]
        return _union(known) if known or not answers else None

    def known_busy(self) -> Sequence[Interval]:
        return _union(source.known_busy() for source in self.sources.values())

    def remember_busy(self, busy: Sequence[Interval]) -> None:
        for source in self.sources.values():
            source.remember_busy(busy)

    # -- Writing: the one chosen calendar ----------------------------------------------------

    def on_booked(self, booking) -> bool:
        return self.writer.on_booked(booking) if self.writer else False

    def on_changed(self, booking) -> bool:
        writer = self.writer_of(booking.pk)
        return writer.on_changed(booking) if writer else False

    def on_cancelled(self, booking) -> bool:
        writer = self.writer_of(booking.pk)
        return writer.on_cancelled(booking) if writer else False

    async def after_booking(self, context: BookingContext, booking_id: int) -> None:
        writer = await run_orm(self.writer_of)(booking_id)
        if writer is not None:
            await writer.after_booking(context, booking_id)

    async def after_cancel(self, context: BookingContext, booking_id: int) -> None:
        writer = await run_orm(self.writer_of)(booking_id)
        if writer is not None:
            await writer.after_cancel(context, booking_id)

    def writer_of(self, booking_id: int) -> BookingProvider | None:
        """The calendar that holds (or waits for) this booking's event: the source with a sync
        row for it, whatever the chain is set to today -- after "write events to" changed, or
        the business was switched back to native, a cancelled booking's event must still be
        deleted where it is. A booking without one goes to the configured writer."""
        for key, cls in PROVIDERS.items():
            store = getattr(cls, "store", None) if cls.calendar_source else None
            model = getattr(store, "sync_model", None)
            if model is not None and model.objects.filter(booking_id=booking_id).exists():
                return self.sources.get(key) or self._member(key)
        return self.writer


def _union(answers) -> list[Interval]:
    return sorted({interval for answer in answers for interval in answer})
