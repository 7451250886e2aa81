"""The booking desk: every action a caller can take, for both receptionists.

The embedded engine and the LLM tools decide what to say next; the desk does the things and
owns their words: check a time, offer alternatives, book, move, cancel, find the caller's
bookings and which one they mean, take a message, transfer, and answer questions (hours,
services, prices, durations, address, "when is my appointment?"). It also owns consent: a
booking, move or cancellation is written only through `commit()`, for a `Change` the caller
heard read back in full and said yes to (calls.dialogue.consent), and each change is followed
by its text to the customer through the outbox, once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from bookings.currencies import say_amount, say_range
from bookings.models import Booking, Service
from bookings.orm import run_orm
from bookings.outbox import nudge
from bookings.providers.base import BookingContext
from bookings.services import BookingChanged, locked_as_read_back, name_on_file, upcoming_bookings
from bookings.services import cancel_booking as cancel_booking_service
from bookings.slots import Refusal, Schedule
from calls.confirmations import after_booked, after_moved
from calls.dialogue.base import CallContext, Ending, EngineState
from calls.dialogue.consent import Change, agreed
from calls.dialogue.speech import (
    DAY_NAMES,
    PLURAL_DAYS,
    explain_refusal,
    on_day,
    say_date,
    say_day,
    say_hours,
    say_list,
    say_time,
)
from calls.sms.models import SmsMessage, SmsOptOut
from calls.sms.tasks import enqueue_booking_change_text
from calls.understanding.intents import yes_or_no
from calls.understanding.phones import speak_phone
from calls.understanding.requests import Question
from calls.understanding.when import WhenParse

logger = logging.getLogger(__name__)

OFFER_COUNT = 3
# What a call came to short of a change, weakest first: a question answered, then a read-back
# the caller said no to. A change, a message or a transfer replaces either.
SOFT_OUTCOMES = ("in_progress", "answered", "declined")
BOOKINGS_LISTED = 3
# Bookings are only looked up by the number calling (reading out someone else's would give them
# away), so one made under another number or name is found by the team from a message.
NOT_FOUND = "I don't see an upcoming booking under the number you're calling from."
NOT_FOUND_HELP = (
    "If it was made under another number or name, I can take a message and the team will "
    "find it and call you back."
)


def with_article(name: str) -> str:
    word = name.lower()
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def all_set(change: Change) -> str:
    """ "You're all set, Dana: a haircut on ...", said to the caller; for someone else, about
    them: "You're all set. Mia's manicure is on ..." (the parent is not called Mia)."""
    when = f"{say_date(change.start.date())} at {say_time(change.start)}"
    if change.for_someone_else:
        owner = f"{change.name}'" if change.name.endswith("s") else f"{change.name}'s"
        return f"You're all set. {owner} {change.service.name.lower()} is on {when}."
    return f"You're all set, {change.name}: {with_article(change.service.name)} on {when}."


def no_texts_to(*, business, phone: str) -> None:
    """The caller said on the call they have no mobile or want no text: none is sent."""
    SmsOptOut.objects.get_or_create(
        business=business, phone=phone, defaults={"opted_out_at": timezone.now()}
    )


def say_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{minutes} minutes"
    if rest == 30:
        return "an hour and a half" if hours == 1 else f"{hours} and a half hours"
    lead = "an hour" if hours == 1 else f"{hours} hours"
    return f"{lead} and {rest} minutes" if rest else lead


@dataclass(frozen=True)
class Availability:
    available: bool
    start: datetime  # local
    reason: Refusal | None = None
    explanation: str = ""
    alternatives: list[datetime] = field(default_factory=list)  # local, in time order
    unchanged: bool = False  # a move to where the booking already is: nothing to move


@dataclass(frozen=True)
class Done:
    """What commit() did: written (with the booking id) or refused (why, what else)."""

    ok: bool
    booking_id: int | None = None
    reason: Refusal | None = None
    explanation: str = ""
    alternatives: list[datetime] = field(default_factory=list)
    words: str = ""  # the confirmation to say, with the goodbye


class Desk:
    def __init__(self, context: CallContext, state: EngineState) -> None:
        self.context = context
        self.state = state
        self.schedule: Schedule | None = None
        self.ending: Ending | None = None
        self._agreed: Change | None = None
        # The caller's bookings the last answer about them named: "cancel it" after "your
        # manicure is on Monday at 3 PM" means that one.
        self.told: list[Booking] = []

    async def open(self) -> None:
        """Once per call: opening hours don't change mid-call."""
        if self.schedule is None:
            self.schedule = self.context.schedule or await run_orm(self.context.business.schedule)()

    # -- Time ------------------------------------------------------------------------------

    @property
    def tz(self):
        return self.context.business.tz

    def today(self) -> date:
        return self.context.clock().astimezone(self.tz).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def explain(
        self, reason: Refusal | None, start: datetime, service: Service | None = None
    ) -> str:
        """Why not, as the service sees the schedule (its own hours and notice)."""
        assert self.schedule is not None
        schedule = self.schedule.for_service(service.pk if service else None)
        return explain_refusal(reason, start, schedule=schedule, today=self.today())

    # -- Checking and offering -------------------------------------------------------------

    async def check(
        self, service: Service, start: datetime, *, moving: Booking | None = None
    ) -> Availability:
        local = self.local(start)
        if moving is not None and moving.start == start and moving.service_id == service.pk:
            return Availability(
                available=False,
                start=local,
                explanation="It's already booked for then.",
                unchanged=True,
            )
        context = self._context(service, start, moving=moving)
        result = await self.context.provider.check_availability(context)
        if result.available:
            return Availability(available=True, start=local)
        return Availability(
            available=False,
            start=local,
            reason=result.reason,
            explanation=self.explain(result.reason, start, service),
            alternatives=sorted(self.local(a) for a in result.alternatives),
        )

    async def free_times(
        self,
        service: Service,
        first: date,
        last: date,
        *,
        window: tuple[time, time] | None = None,
        weekdays: frozenset[int] | None = None,
        moving: Booking | None = None,
        one_day: bool = False,
        soonest: bool = False,
        latest_first: bool = False,
    ) -> list[datetime]:
        """Concrete free starts for a vague request, at most three: a spread over one day (the
        first day with any, when `one_day`), or the first free start of each day in [first,
        last]; with `soonest` the first few, whatever the day. Only `weekdays`, when given;
        `latest_first` ("as late as you can") reads each day from its end. Local times."""
        low, high = window or (time(0), time(23, 59))
        found: list[datetime] = []
        day = max(first, self.today())
        while day <= last and len(found) < OFFER_COUNT:
            if weekdays and day.weekday() not in weekdays:
                day += timedelta(days=1)
                continue
            starts = await self.context.provider.free_starts(
                service=service,
                start=datetime.combine(day, low, tzinfo=self.tz),
                end=datetime.combine(day, high, tzinfo=self.tz),
                limit=48,
                moving_booking_id=moving.pk if moving is not None else None,
            )
            if latest_first:
                starts = starts[::-1]
            if first == last or one_day:
                found = spread(starts)
                break
            found.extend(spread(starts)[: OFFER_COUNT - len(found)] if soonest else starts[:1])
            day += timedelta(days=1)
        return [self.local(m) for m in found]

    # -- The caller's bookings -------------------------------------------------------------

    async def callers_bookings(self) -> list[Booking] | None:
        """Upcoming bookings under the caller ID, soonest first; None when it is withheld."""
        phone = self.context.caller_number
        if not phone:
            return None
        return await run_orm(upcoming_bookings)(
            business=self.context.business, phone=phone, now=self.context.clock()
        )

    async def name_on_file(self) -> str:
        """The name this caller ID booked under before, or "" (withheld, or never booked)."""
        phone = self.context.caller_number
        if not phone:
            return ""
        return await run_orm(name_on_file)(business=self.context.business, phone=phone)

    def matching(
        self, bookings: Sequence[Booking], *, service_id: int | None, when: WhenParse | None
    ) -> list[Booking]:
        """The bookings that fit what the caller named (service, day, time); all of them when
        they named nothing, none when what they named fits none."""
        picked = list(bookings)
        if service_id is not None:
            picked = [b for b in picked if b.service_id == service_id]
        if when is not None and when.day is not None:
            picked = [b for b in picked if self.local(b.start).date() == when.day]
        elif when is not None and when.days is not None:
            first, last = when.days
            picked = [b for b in picked if first <= self.local(b.start).date() <= last]
        if when is not None and when.time is not None and len(picked) > 1:
            hour = when.time.hour % 12
            timed = [b for b in picked if self.local(b.start).hour % 12 == hour]
            picked = timed or picked
        return picked

    def say_booking(self, booking: Booking, *, full: bool = False) -> str:
        local = self.local(booking.start)
        day = say_date(local.date()) if full else say_day(local.date(), self.today())
        return f"your {booking.service.name.lower()} {on_day(day)} at {say_time(local)}"

    def which_one(self, bookings: Sequence[Booking]) -> str:
        """'Your manicure on Monday at 3 PM, or your haircut on Saturday at 2 PM?'"""
        listed = [self.say_booking(b) for b in bookings[:BOOKINGS_LISTED]]
        return f"Which one: {say_list(listed)}?"

    # -- Read-backs (what the caller hears before a yes) -----------------------------------

    def change_to_book(
        self,
        service: Service,
        start: datetime,
        name: str,
        phone: str,
        *,
        for_someone_else: bool = False,
        no_text: bool = False,
    ) -> Change:
        return Change(
            "book",
            service,
            self.local(start),
            name=name,
            phone=phone,
            for_someone_else=for_someone_else,
            no_text=no_text,
        )

    def change_to_move(self, booking: Booking, start: datetime) -> Change:
        return self._change_of(booking, "move", start)

    def change_to_cancel(self, booking: Booking) -> Change:
        return self._change_of(booking, "cancel", booking.start)

    def change_to_cancel_all(self, bookings: Sequence[Booking]) -> Change:
        """Every one of these bookings cancelled by one yes ("cancel both my appointments")."""
        first, *rest = [self.change_to_cancel(b) for b in bookings]
        return replace(first, together=tuple(rest))

    def _change_of(self, booking: Booking, action: str, start: datetime) -> Change:
        return Change(
            action,
            booking.service,
            self.local(start),
            name=booking.customer_name,
            phone=booking.customer_phone,
            booking=booking,
        )

    def read_back(self, change: Change) -> str:
        when = f"{say_date(change.start.date())} at {say_time(change.start)}"
        if change.action == "move":
            return (
                f"{upper_first(self.say_booking(change.booking, full=True))} moves to {when}. "
                "Shall I move it?"
            )
        if change.action == "cancel" and change.together:
            listed = [self.say_booking(b, full=True) for b in change.bookings]
            return f"{upper_first(say_list(listed, 'and'))}. Shall I cancel {both(listed)}?"
        if change.action == "cancel":
            return (
                f"{upper_first(with_article(change.service.name))} for "
                f"{change.booking.customer_name} on {when}. Shall I cancel it?"
            )
        text = f"{upper_first(with_article(change.service.name))} for {change.name} on {when}"
        if change.no_text and change.phone == self.context.caller_number:
            text += ", and no text, the booking's under the number you're calling from"
        elif change.no_text:
            text += f", under {speak_phone(change.phone)}, and no text"
        elif change.phone and change.phone != self.context.caller_number:
            text += f", and I'll text the confirmation to {speak_phone(change.phone)}"
        return f"{text}. Shall I book it?"

    # -- Consent and writes ----------------------------------------------------------------

    def agree(self, change: Change, *, heard: str, utterance: str) -> str | None:
        """Records the caller's yes to `change` if they heard all of it in `heard` and
        `utterance` is a yes; else says why not. Only an agreed change can be committed."""
        refusal = agreed(
            change,
            heard=heard,
            utterance=utterance,
            caller_id=self.context.caller_number,
            today=self.today(),
        )
        self._agreed = change if refusal is None else None
        caller_id, today = self.context.caller_number, self.today()
        said_no = refusal is not None and yes_or_no(utterance) is False
        if said_no and not change.unheard(heard, caller_id=caller_id, today=today):
            self.declined()
        return refusal

    def declined(self) -> None:
        """The caller said no to a read-back: unless something else comes of the call, it is
        recorded as declined, not as a caller who hung up early."""
        self._note("declined")

    def _note(self, outcome: str) -> None:
        current = self.state.outcome
        if current in SOFT_OUTCOMES and SOFT_OUTCOMES.index(outcome) > SOFT_OUTCOMES.index(current):
            self.state.outcome = outcome

    async def commit(self, change: Change) -> Done:
        """Write the change the caller just agreed to, then queue its text."""
        if self._agreed is not change:
            raise PermissionError("nothing is written without the caller's yes to a read-back")
        self._agreed = None
        if change.action == "book":
            return await self._book(change)
        if change.action == "move":
            return await self._move(change)
        return await self._cancel(change)

    async def _book(self, change: Change) -> Done:
        if change.no_text:
            # Recorded before the booking's text is queued: that text and its reminders are
            # then never sent to this number (as after a STOP), with no race with the outbox.
            await run_orm(no_texts_to)(business=self.context.business, phone=change.phone)
        context = self._context(change.service, change.start, name=change.name, phone=change.phone)
        intent = await self.context.provider.create_booking(context)
        if not intent.booked:
            return self._refused(intent, change)
        self._settle("booked", intent.booking_id)
        await after_booked(
            provider=self.context.provider, context=context, booking_id=intent.booking_id
        )
        texted = "No text will be sent." if change.no_text else "I'll text you a confirmation."
        words = (
            f"{all_set(change)} {texted} Thanks for calling {self.context.business.name}, goodbye!"
        )
        return Done(ok=True, booking_id=intent.booking_id, words=words)

    async def _move(self, change: Change) -> Done:
        booking = change.booking
        context = self._context(
            change.service,
            change.start,
            name=booking.customer_name,
            phone=booking.customer_phone,
            moving=booking,
        )
        # One transaction in the bookings service: the new time is booked and the old one
        # freed together, or neither changes (nor if staff changed the booking since).
        try:
            intent = await self.context.provider.move_booking(
                replace(context, moving_from=booking.start), booking.pk
            )
        except BookingChanged as changed:
            return self._changed(changed, "move")
        if not intent.booked:
            return self._refused(intent, change)
        self._settle("moved", intent.booking_id)
        await after_moved(
            provider=self.context.provider, context=context, booking_id=intent.booking_id
        )
        words = (
            f"Done. Your {change.service.name.lower()} is now on {say_date(change.start.date())} "
            f"at {say_time(change.start)}. I'll text you the new time. Goodbye!"
        )
        return Done(ok=True, booking_id=intent.booking_id, words=words)

    async def _cancel(self, change: Change) -> Done:
        bookings = change.bookings
        try:
            await run_orm(cancel_with_texts)(bookings=bookings)
        except BookingChanged as changed:
            return self._changed(changed, "cancel", len(bookings))
        self._settle("cancelled", change.booking.pk)
        done = "That's cancelled, and I'll text you to confirm."
        if len(bookings) > 1:
            done = (
                f"{upper_first(both(bookings))} are cancelled, and I'll text you to confirm "
                "each one."
            )
        return Done(
            ok=True,
            booking_id=change.booking.pk,
            words=f"{done} Thanks for letting us know, goodbye!",
        )

    def _changed(self, changed: BookingChanged, action: str, count: int = 1) -> Done:
        """Staff changed a booking between its read-back and the caller's yes: what it is now,
        and that nothing was written."""
        now = changed.now
        nothing = "Nothing's been moved." if action == "move" else "Nothing's been cancelled."
        if now is None or now.status != Booking.Status.CONFIRMED:
            what = f"{self.say_booking(changed.read, full=True)} has already been cancelled"
            if action == "cancel":
                nothing = "I haven't cancelled the others." if count > 1 else ""
        else:
            what = f"that booking has just been changed: {self._booking_is(now)}"
        words = f"I'm sorry, {what}. {nothing}".strip()
        return Done(ok=False, reason=Refusal.CHANGED, explanation=words)

    def _refused(self, intent, change: Change) -> Done:
        reason = intent.reason or Refusal.TAKEN
        return Done(
            ok=False,
            reason=reason,
            explanation=self.explain(reason, change.start, change.service),
            alternatives=sorted(self.local(a) for a in intent.alternatives),
        )

    def _settle(self, outcome: str, booking_id: int | None) -> None:
        self.state.outcome = outcome
        self.state.booking_id = booking_id
        self.ending = Ending(reason=outcome)

    # -- People and messages ---------------------------------------------------------------

    def transfer(self) -> str | None:
        """Put the caller through (the words to say), or None when nobody can take calls."""
        number = self.context.business.transfer_number
        if not number:
            # Staff hear about callers who wanted a person (calls.staff_alerts).
            self.state.events.append(("person_unreachable", "No transfer number is set."))
            return None
        self.state.outcome = "transferred"
        self.ending = Ending(reason="transfer", transfer_to=number)
        return "Of course. Let me put you through to someone now."

    def take_message(self, message: str, *, name: str | None = None) -> str:
        caller = self.context.caller_number or "withheld number"
        who = f"{name} ({caller})" if name else caller
        self.state.message = f"From {who}: {message.strip()}"
        self.state.outcome = "message_taken"
        self.ending = Ending(reason="message")
        return "Thank you, I'll make sure they get your message. Goodbye!"

    def goodbye(self) -> str:
        self.ending = Ending(reason="goodbye")
        return f"Thanks for calling {self.context.business.name}. Goodbye!"

    # -- Answers ---------------------------------------------------------------------------

    def service_list(self) -> str:
        return say_list([s.name.lower() for s in self.context.services])

    def not_offered(self, thing: str) -> str:
        return f"I'm sorry, we don't offer {thing}. We offer {self.service_list()}."

    async def answer(
        self, question: Question, *, service: Service | None = None, when: WhenParse | None = None
    ) -> str:
        self._note("answered")
        if question == Question.HOURS:
            return self.hours(when)
        if question == Question.PRICE:
            return self.price(service)
        if question == Question.DURATION:
            return self.duration(service)
        if question == Question.SERVICES:
            return f"We offer {self.service_list()}."
        if question == Question.ADDRESS:
            address = self.context.business.address
            if not address:
                return "I'm sorry, I don't have the address to hand; the team can tell you."
            return f"We're at {address}."
        if question == Question.OFFERS and service is not None:
            name = service.name.lower()
            return f"Yes, we do {name if name.endswith('s') else name + 's'}."
        if question in (Question.OTHER, Question.OFFERS):
            return "I'm sorry, I don't know that one; the team can tell you."
        if question == Question.ABOUT:
            return self.context.business.about or (
                f"This is {self.context.business.name}. We offer {self.service_list()}."
            )
        return await self.my_bookings(when, service=service)

    def hours(self, when: WhenParse | None) -> str:
        schedule = self.schedule
        assert schedule is not None
        today = self.today()
        if when is not None and when.day is not None:
            return upper_first(self._hours_on(when.day)) + "."
        if when is not None and when.days is not None:
            first, last = when.days
            weekdays = getattr(when, "weekdays", None)
            if weekdays:
                # "On Fridays": the hours of the next such day.
                days = [first + timedelta(days=n) for n in range(7)]
                picked = [d for d in days if d.weekday() in weekdays]
                return upper_first(say_list([self._hours_on(d) for d in picked], "and")) + "."
            if (last - first).days <= 6:
                days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
                return upper_first(say_list([self._hours_on(day) for day in days], "and")) + "."
        special = [
            f"{self._hours_on(day)}"
            for day in sorted(schedule.exceptions)
            if today <= day <= today + timedelta(days=14)
        ]
        text = f"We're open {say_hours(schedule.weekly)}"
        if special:
            text += f" Special hours: {say_list(special, 'and')}."
        return text

    def hours_on_holiday(self, name: str, day: date) -> str:
        """ "On Christmas Day, Friday, December 25th, we're open 9 AM to 6 PM." """
        self._note("answered")
        assert self.schedule is not None
        ranges = self.schedule.ranges_on(day)
        if not ranges:
            return f"On {name}, {say_date(day)}, we're closed."
        hours = say_list([f"{say_time(o)} to {say_time(c)}" for o, c in ranges], "and")
        return f"On {name}, {say_date(day)}, we're open {hours}."

    def _hours_on(self, day: date) -> str:
        schedule = self.schedule
        assert schedule is not None
        today = self.today()
        special = day in schedule.exceptions
        if special or day - today < timedelta(days=7):
            name = say_day(day, today) if not special else say_date(day)
            name = "today" if day == today else name
        else:
            name = DAY_NAMES[day.weekday()]
        ranges = schedule.ranges_on(day)
        if not ranges:
            if not special:
                return f"we're closed on {PLURAL_DAYS[day.weekday()]}"
            return f"we're closed on {name}"
        hours = say_list([f"{say_time(o)} to {say_time(c)}" for o, c in ranges], "and")
        return f"{name} we're open {hours}"

    def price(self, service: Service | None) -> str:
        if service is None:
            parts = [self._price_of(s) for s in self.context.services]
            return " ".join(parts)
        return self._price_of(service)

    def _price_of(self, service: Service) -> str:
        name = service.name
        if service.price_from is None:
            return f"For {with_article(name)}, the salon will confirm the price with you."
        currency = self.context.business.currency
        if service.price_to is not None and service.price_to != service.price_from:
            price = say_range(service.price_from, service.price_to, currency)
        else:
            price = say_amount(service.price_from, currency)
        return f"{upper_first(with_article(name))} is {price}."

    def duration(self, service: Service | None) -> str:
        services = [service] if service is not None else list(self.context.services)
        parts = [
            f"{upper_first(with_article(s.name))} takes about {say_minutes(s.duration_minutes)}."
            for s in services
        ]
        return " ".join(parts)

    async def my_bookings(
        self, when: WhenParse | None = None, *, service: Service | None = None
    ) -> str:
        """The caller's upcoming bookings; only those of the service and on the day (or in the
        days) they named, and when none is, what they do have."""
        bookings = await self.callers_bookings()
        if bookings is None:
            return "I can only find bookings by the number you're calling from, and it's withheld."
        if not bookings:
            return f"{NOT_FOUND} {NOT_FOUND_HELP}"
        if service is not None:
            theirs = [b for b in bookings if b.service_id == service.pk]
            if not theirs:
                self.told = bookings[:BOOKINGS_LISTED]
                others = say_list([self._booking_is(b) for b in self.told], "and")
                return (
                    f"I don't see {with_article(service.name)} booked under the number you're "
                    f"calling from. {upper_first(others)}."
                )
            bookings = theirs
            named = when is not None and (when.day is not None or when.days is not None)
            if not named:
                self.told = bookings[:BOOKINGS_LISTED]
                return upper_first(say_list([self._booking_is(b) for b in self.told], "and")) + "."
        named = when is not None and (when.day is not None or when.days is not None)
        if named:
            then = self.matching(bookings, service_id=None, when=replace(when, time=None))
            self.told = then
            if then:
                return upper_first(say_list([self._booking_is(b) for b in then], "and")) + "."
            if when.day is not None:
                day = f"on {say_date(when.day)}"
            else:
                first, last = when.days
                day = f"between {say_date(first)} and {say_date(last)}"
            others = say_list([self._booking_is(b) for b in bookings[:BOOKINGS_LISTED]], "and")
            return f"I don't see a booking for you {day}. {upper_first(others)}."
        listed = []
        self.told = bookings[:BOOKINGS_LISTED]
        for booking in bookings[:BOOKINGS_LISTED]:
            local = self.local(booking.start)
            listed.append(
                f"{with_article(booking.service.name)} on {say_date(local.date())} at "
                f"{say_time(local)}"
            )
        return f"You have {say_list(listed, 'and')}."

    def _booking_is(self, booking: Booking) -> str:
        """'your manicure is on Monday, December 7th at 3 PM'"""
        local = self.local(booking.start)
        name = booking.service.name.lower()
        return f"your {name} is on {say_date(local.date())} at {say_time(local)}"

    # -- Helpers ---------------------------------------------------------------------------

    def _context(
        self,
        service: Service,
        start: datetime,
        *,
        name: str = "",
        phone: str = "",
        moving: Booking | None = None,
    ) -> BookingContext:
        return BookingContext(
            business=self.context.business,
            service=service,
            start=start,
            end=start + service.duration,
            customer_name=name,
            customer_phone=phone,
            call_sid=self.context.call_sid,
            # While moving, the caller's own booking is not in the way of its new time.
            moving_booking_id=moving.pk if moving is not None else None,
        )


def cancel_with_text(*, booking: Booking) -> Booking:
    """Cancel, with the customer's text queued in the same transaction (sent once). The one
    way a customer cancels: spoken on a call (`Desk._cancel`) or texted (calls.sms.replies)."""
    return cancel_with_texts(bookings=[booking])[0]


def cancel_with_texts(*, bookings: Sequence[Booking]) -> list[Booking]:
    """Cancel all of them or none ("cancel both"), each with its own text, queued in the same
    transaction. BookingChanged if one is not as read back any more (nothing cancelled)."""
    with transaction.atomic():
        # As read back to the caller, or none (BookingChanged): staff may have moved one since.
        current = locked_as_read_back(bookings)
        cancelled = [cancel_booking_service(booking=booking) for booking in current]
        for read, now in zip(bookings, cancelled, strict=True):
            read.status = now.status
        tasks = [
            enqueue_booking_change_text(booking_id=b.pk, kind=SmsMessage.Kind.BOOKING_CANCELLED)
            for b in bookings
        ]
    nudge([task.pk for task in tasks])
    return cancelled


def both(items: Sequence) -> str:
    """'both' of two, 'all 3' of three."""
    return "both" if len(items) == 2 else f"all {len(items)}"


def spread(starts: list[datetime]) -> list[datetime]:
    """Up to three starts at least half an hour apart, so the offers are real choices (in
    either order: a day read from its end spreads backwards)."""
    picked: list[datetime] = []
    for start in starts:
        if not picked or abs(start - picked[-1]) >= timedelta(minutes=30):
            picked.append(start)
        if len(picked) == OFFER_COUNT:
            break
    return picked
