"""The booking-provider contract.

A provider answers three questions for one business: is this slot free (and if not, what
is nearest), book it (or move a booking to it), and what to do once it is booked. Every
provider respects the business's opening hours and our own confirmed bookings; an external
calendar only *adds* busy times. When a booking is being moved (the context's
`moving_booking_id`), its own current time never counts as busy: a caller may move their
booking by a quarter of an hour, into part of its old slot. Methods are async: the call
loop awaits them on the event loop, so any blocking work (ORM, HTTP) goes through a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django import forms

from bookings.models import Booking, Business, Service
from bookings.slots import Interval, Refusal

logger = logging.getLogger(__name__)


def does_nothing(follow_up):
    """Marks a provider's after_booking / after_cancel that has nothing to do outside our
    database, so its outbox task does not load the booking for it (bookings.tasks). A
    subclass that overrides the method has its own, unmarked."""
    follow_up.does_nothing = True
    return follow_up


class ProviderUnavailable(Exception):
    """The provider's source of truth can't answer right now (e.g. Calendly is down). Raised
    by `free_starts` of a provider that owns the bookings, where an empty list would wrongly
    mean "nothing free"; the caller is told and offered a message. Providers that only add
    busy times degrade instead and never raise it."""


@dataclass(frozen=True)
class BookingContext:
    business: Business
    service: Service
    start: datetime  # aware
    end: datetime  # aware
    customer_name: str = ""
    customer_phone: str = ""  # E.164
    call_sid: str = ""
    # Set while a caller moves an existing booking to `start`: that booking is not in the way.
    moving_booking_id: int | None = None
    # And its start as read back to the caller: moved only if it is still then.
    moving_from: datetime | None = None

    @classmethod
    def from_booking(cls, booking: Booking) -> BookingContext:
        """The context a provider saw when it made the booking, rebuilt from the row."""
        return cls(
            business=booking.business,
            service=booking.service,
            start=booking.start,
            end=booking.end,
            customer_name=booking.customer_name,
            customer_phone=booking.customer_phone,
            call_sid=booking.source_call_sid,
        )


@dataclass(frozen=True)
class AvailabilityResult:
    available: bool
    reason: Refusal | None = None
    alternatives: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class BookingIntent:
    """What create_booking or move_booking did: booked (with the booking's id; after a move,
    the new booking's) or refused (why, and what else)."""

    booked: bool
    booking_id: int | None = None
    reason: Refusal | None = None
    alternatives: list[datetime] = field(default_factory=list)


class ProviderOptionsForm(forms.Form):
    """Options every provider understands (none so far). Subclasses add their own fields;
    stored options no form names any more are ignored when read and dropped on save."""


class BookingProvider:
    """Base class. Subclasses set `name`, `label` and implement the three async methods."""

    name: ClassVar[str]
    label: ClassVar[str]
    options_form: ClassVar[type[forms.Form]] = ProviderOptionsForm
    # True for a NativeBookingProvider that adds an outside calendar's busy times (and may
    # write its events there): such a provider can also be one source of a chain
    # (bookings.providers.chain), read through external_busy / live_busy / known_busy.
    calendar_source: ClassVar[bool] = False

    def __init__(self, business: Business, *, options: dict[str, Any] | None = None) -> None:
        self.business = business
        self.options = options if options is not None else self.clean_options({})

    @classmethod
    def clean_options(cls, raw: dict[str, Any] | None) -> dict[str, Any]:
        """Stored options validated and completed with defaults. Invalid stored options are
        logged and replaced by defaults: a call never fails because of configuration."""
        form = cls.options_form(data=cls.options_with_defaults(raw or {}))
        if not form.is_valid():
            logger.error(
                "Invalid options for provider %s: %s; using defaults.",
                cls.name,
                form.errors.as_text(),
            )
            form = cls.options_form(data=cls.options_with_defaults({}))
            form.is_valid()
        return form.cleaned_data

    @classmethod
    def options_with_defaults(cls, raw: dict[str, Any]) -> dict[str, Any]:
        defaults = {name: f.initial for name, f in cls.options_form.base_fields.items()}
        return {**defaults, **{k: v for k, v in raw.items() if k in defaults and v is not None}}

    # -- Methods with a sensible default -----------------------------------------------

    async def prepare_for_call(self) -> None:
        """A call for this business has started (the provider instance lives as long as the
        call). Providers with a slow external source fetch what the call will need here, in
        the background; the call never waits for this. Default: nothing to prepare."""

    async def calendar_busy(self, start: datetime, end: datetime) -> Sequence[Interval] | None:
        """Busy times in an outside calendar between `start` and `end`, for staff to see on
        the schedule: () when the provider has no outside calendar, None when it cannot
        tell right now (the problem is recorded where staff see it)."""
        return ()

    # -- Methods that child classes must implement -------------------------------------

    async def check_availability(self, context: BookingContext) -> AvailabilityResult:
        """Whether context.start..end can be booked; if not, why and the nearest free starts.
        Never raises for an unreachable external service: it degrades and records why."""
        raise NotImplementedError

    async def create_booking(self, context: BookingContext) -> BookingIntent:
        """Book the slot under the database's no-overlap guarantee. A slot lost to another
        caller comes back as BookingIntent(booked=False, reason=TAKEN, alternatives=...)."""
        raise NotImplementedError

    async def move_booking(self, context: BookingContext, booking_id: int) -> BookingIntent:
        """Move booking `booking_id` to context.start..end under the same guarantees as
        create_booking (the same checks, the database's no-overlap guarantee, an external
        calendar re-checked): the old slot is freed only if the new one is booked, in one
        transaction, and the booking may move into part of its own old time. A slot lost to
        another caller comes back as BookingIntent(booked=False, reason=TAKEN,
        alternatives=...) and the booking stays where it was. Booked means a new booking
        (intent.booking_id) replaced the old one, which is cancelled."""
        raise NotImplementedError

    async def after_booking(self, context: BookingContext, booking_id: int) -> None:
        """Work that follows a booking off the call's critical path (e.g. calendar events)."""
        raise NotImplementedError

    # -- Follow-ups: what a provider keeps outside our database ---------------------------
    # Each runs inside the transaction that writes the booking and says whether the
    # matching outbox task (after_booking / after_cancel) has work to do; bookings.services
    # then queues it in that same transaction. What a provider tracks per booking (e.g. a
    # calendar event and its sync state) lives in the provider's own app and models.

    def on_booked(self, booking: Booking) -> bool:
        """A new confirmed booking (made on a call, by staff, or as the new half of a
        move). Default: nothing to follow up."""
        return False

    def on_changed(self, booking: Booking) -> bool:
        """Staff changed a confirmed booking's time or details. Default: nothing to do."""
        return False

    def on_cancelled(self, booking: Booking) -> bool:
        """The booking was cancelled (or moved away). Default: nothing to undo."""
        return False

    @does_nothing
    async def after_cancel(self, context: BookingContext, booking_id: int) -> None:
        """A booking this provider made was cancelled (or moved away): undo what
        after_booking did outside our database. Runs from the durable outbox; raising means
        "retry later" (see bookings.outbox). Default: nothing to undo."""

    @classmethod
    def keeps_nothing_outside(cls) -> bool:
        """Neither follow-up (after_booking, after_cancel) has anything to do."""
        return all(
            getattr(follow_up, "does_nothing", False)
            for follow_up in (cls.after_booking, cls.after_cancel)
        )

    async def free_starts(
        self,
        *,
        service: Service,
        start: datetime,
        end: datetime,
        limit: int,
        moving_booking_id: int | None = None,
    ) -> list[datetime]:
        """Bookable starts for `service` within [start, end), earliest first, at most `limit`
        (for vague requests such as 'tomorrow morning'); `moving_booking_id` as in
        BookingContext. Raises ProviderUnavailable when the provider that owns the bookings
        cannot say (an empty list means nothing is free)."""
        raise NotImplementedError
