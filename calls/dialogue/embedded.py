"""The embedded receptionist: a slot-filling conversation with no network, the default engine.

Each caller utterance is read whole (calls.understanding.utterance.hear): service, day and
time, name and phone may arrive in any order, in one breath, or as corrections. The engine
then asks for the first thing still missing, checks availability through the business's
provider as soon as service and time are known, reads the booking back and books only on a
yes. Answers are short sentences for text-to-speech: no symbols, times said naturally.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from bookings.models import Booking, Service
from bookings.orm import run_orm
from bookings.providers.base import BookingContext
from bookings.services import cancel_booking as cancel_booking_service
from bookings.services import upcoming_bookings
from bookings.slots import Refusal, Schedule
from calls.confirmations import after_booked
from calls.dialogue.base import CallContext, DialogueEngine, Ending
from calls.dialogue.speech import (
    explain_refusal,
    say_date,
    say_day,
    say_hours,
    say_list,
    say_offers,
    say_time,
)
from calls.understanding.intents import Intent, pick_ordinal
from calls.understanding.phones import speak_phone
from calls.understanding.services import ServiceName
from calls.understanding.utterance import Expecting, Heard, hear
from calls.understanding.when import WhenParse, plausible_times

logger = logging.getLogger(__name__)

MAX_MISSES = 3  # unhelpful answers in a row before offering a person or a message
OFFER_COUNT = 3
SPAN_DAYS_SEARCHED = 14


class Step(enum.StrEnum):
    GATHER = "gather"  # collecting what to book
    OFFERED = "offered"  # times offered, waiting for a pick
    CONFIRM_PHONE = "confirm_phone"
    CONFIRM_BOOKING = "confirm_booking"
    CONFIRM_CANCEL = "confirm_cancel"
    TAKE_MESSAGE = "take_message"
    OFFER_HELP = "offer_help"  # after repeated misunderstandings
    DONE = "done"


@dataclass
class Request:
    """What the caller wants booked, as far as we know it."""

    service: Service | None = None
    day: date | None = None
    time: time | None = None
    ampm_explicit: bool = False
    window: tuple[time, time] | None = None
    days: tuple[date, date] | None = None
    start: datetime | None = None  # set once availability said yes
    name: str | None = None
    phone: str | None = None
    phone_confirmed: bool = False
    weekdays: frozenset[int] | None = None  # only these weekdays within `days`
    soonest: bool = False  # "as soon as you can": the first free times
    latest_first: bool = False  # "a bit earlier": the free times nearest before, first
    ambiguous: bool = False  # the day could be read as another date: say the date


def with_article(name: str) -> str:
    word = name.lower()
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


class EmbeddedEngine(DialogueEngine):
    name = "embedded"
    label = "Embedded receptionist (no network)"

    def __init__(self, context: CallContext) -> None:
        super().__init__(context)
        self.request = Request(phone=context.caller_number or None)
        self.step = Step.GATHER
        self.expecting = Expecting.NOTHING
        self.offers: list[datetime] = []
        self.moving: Booking | None = None  # the booking being moved, when moving
        self.cancelling: Booking | None = None
        self.misses = 0
        self.last_answer = ""
        self.history: list[tuple[str, str]] = []
        self._services_by_id = {s.pk: s for s in context.services}
        self._service_names = [
            ServiceName(id=s.pk, name=s.name, synonyms=s.synonym_list) for s in context.services
        ]
        self._schedule: Schedule | None = None

    # -- The contract ------------------------------------------------------------------

    async def respond(self, utterance: str) -> AsyncIterator[str]:
        self.history.append(("caller", utterance))
        try:
            answer = await self._answer(utterance)
        except Exception:
            logger.exception("Embedded engine failed on call %s", self.context.call_sid)
            self.state.events.append(("engine_error", "the embedded engine raised"))
            answer = "Sorry, something went wrong on my side. Could you say that again?"
        self.last_answer = answer
        self.history.append(("receptionist", answer))
        yield answer

    def heard(self, spoken: str) -> None:
        if self.history and self.history[-1][0] == "receptionist":
            self.history[-1] = ("receptionist", spoken)

    def respond_to_digits(self, digits: str) -> AsyncIterator[str]:
        if digits == "0":
            return self.respond("operator")
        return self.respond(" ".join(digits))

    # -- Taking over a call from another engine ------------------------------------------

    def seed(
        self,
        *,
        service: Service | None = None,
        start: datetime | None = None,
        name: str | None = None,
        phone: str | None = None,
        phone_confirmed: bool = False,
    ) -> None:
        """Start from what another engine gathered (the LLM engine hands its call over when
        the model fails). The time is checked again and the booking read back before a yes."""
        r = self.request
        if service is not None:
            r.service = self._services_by_id.get(service.pk, service)
        if start is not None:
            self._set_start_from(start)
        if name:
            r.name = name
        if phone:
            r.phone, r.phone_confirmed = phone, phone_confirmed

    async def resume(self) -> str:
        """This turn's answer for the request as it stands (after `seed`): the next question."""
        if self._schedule is None:
            self._schedule = await run_orm(self.context.business.schedule)()
        answer = await self._next_step()
        self.last_answer = answer
        self.history.append(("receptionist", answer))
        return answer

    # -- One turn ------------------------------------------------------------------------

    async def _answer(self, utterance: str) -> str:
        text = utterance.strip()
        if self._schedule is None:
            # Loaded once per call: opening hours don't change mid-call.
            self._schedule = await run_orm(self.context.business.schedule)()
        if self.step == Step.DONE:
            return "Thanks for calling. Goodbye!"
        if not re.search(r"[A-Za-z0-9]", text):
            return self._missed("Sorry, I didn't catch that.")
        heard = hear(
            text,
            today=self._today(),
            services=self._service_names,
            expecting=self.expecting,
            now=self.context.clock().astimezone(self._tz()).time(),
        )
        intents = heard.intents

        if Intent.REPEAT in intents and self.last_answer:
            return self.last_answer
        if Intent.HUMAN in intents:
            return self._to_a_person()
        if self.step == Step.TAKE_MESSAGE:
            return self._take_message(text)
        if self.step == Step.OFFER_HELP:
            return self._after_offering_help(heard)
        if Intent.MESSAGE in intents:
            return self._start_message()
        if Intent.GOODBYE in intents and not heard.has_booking_details:
            return self._goodbye()
        if self.step == Step.CONFIRM_CANCEL:
            return await self._confirm_cancel(heard)
        if Intent.CANCEL in intents:
            return await self._start_cancel()
        if Intent.MOVE in intents and self.moving is None:
            return await self._start_move(heard)
        if Intent.HOURS in intents and not heard.has_booking_details:
            return f"We're open {say_hours(self._schedule_now().weekly)} " + self._prompt_again()
        if Intent.LIST_SERVICES in intents and heard.service is None:
            return f"We offer {self._service_list()}. " + self._prompt_again()

        picked = self._pick_offer(text, heard) if self.step == Step.OFFERED else None
        if picked is not None:
            # "The first one" is a choice, not "1 o'clock": keep the time out of the reading.
            heard = replace(heard, when=WhenParse())
        changed = self._absorb(heard)
        if picked is not None:
            self._set_start_from(picked)
            changed.add("when")
        if heard.when.unclear and "when" not in changed:
            # "The Friday before Christmas": ask, never guess a day.
            self._ask(Expecting.WHEN)
            return (
                "Sorry, I'm not sure which day you mean. Could you tell me the day and date, "
                "like Friday the 11th?"
            )
        if self.step == Step.CONFIRM_BOOKING and not changed:
            if heard.yes is True:
                return await self._book()
            if heard.yes is False:
                self.step = Step.GATHER
                self.expecting = Expecting.NOTHING
                return (
                    "No problem. What would you like to change: "
                    "the service, the day and time, or the name?"
                )
            return "Sorry, shall I go ahead and book it? Please say yes or no."
        if self.step == Step.CONFIRM_PHONE and "phone" not in changed:
            if heard.yes is True:
                self.request.phone_confirmed = True
                changed.add("phone")
            elif heard.yes is False:
                self.request.phone = None
                self.step = Step.GATHER
                self.expecting = Expecting.PHONE
                return "What number should I text the confirmation to?"
        if not changed and not (Intent.BOOK in intents or Intent.MOVE in intents):
            return self._missed("Sorry, I didn't quite get that.")
        self.misses = 0
        return await self._next_step()

    # -- Reading the caller ------------------------------------------------------------

    def _absorb(self, heard: Heard) -> set[str]:
        """Fold what was heard into the request; returns which parts changed."""
        changed: set[str] = set()
        r = self.request
        if heard.service and self.moving is None:
            service = self._services_by_id.get(heard.service.id)
            if service and service != r.service:
                r.service, r.start = service, None
                changed.add("service")
        if not heard.when.is_empty and self._absorb_when(heard.when):
            changed.add("when")
        if (
            heard.name
            and heard.name != r.name
            and not (
                heard.service
                and self.expecting != Expecting.NAME
                and heard.name.lower() in heard.service.name.lower()
            )
        ):
            r.name = heard.name
            changed.add("name")
        if heard.phone and (heard.phone != r.phone or not r.phone_confirmed):
            r.phone, r.phone_confirmed = heard.phone, True
            changed.add("phone")
        return changed

    def _absorb_when(self, when: WhenParse) -> bool:
        r = self.request
        if when.shift is not None or when.nudge:
            return self._absorb_relative(when)
        before = (r.day, r.time, r.window, r.days, r.weekdays, r.soonest)
        if when.day is not None:
            # A new day alone keeps the time already asked for ("actually Wednesday").
            r.day, r.days, r.weekdays, r.ambiguous = when.day, None, None, when.ambiguous
        elif when.days is not None:
            r.days, r.day, r.weekdays, r.ambiguous = when.days, None, when.weekdays, False
        if when.time is not None:
            r.time, r.ampm_explicit, r.window = when.time, when.ampm_explicit, None
        elif when.window is not None:
            r.window, r.time = when.window, None
        if when.past:
            r.day = when.day
        if when.soonest:
            r.soonest, r.time = True, None
            if r.day is None and r.days is None:
                today = self._today()
                r.days = (today, today + timedelta(days=SPAN_DAYS_SEARCHED))
        r.latest_first = False
        after = (r.day, r.time, r.window, r.days, r.weekdays, r.soonest)
        if after != before:
            r.start = None
            self.offers = []
            return True
        return False

    def _absorb_relative(self, when: WhenParse) -> bool:
        """ "Half an hour later", "a bit earlier", "the one after that": relative to the time
        read back or offered, else the time asked for, else the booking being moved."""
        r = self.request
        later = (when.shift or timedelta(0)) > timedelta(0) or when.nudge > 0
        reference = r.start
        if reference is None and self.offers:
            reference = self.offers[-1] if later and when.nudge else self.offers[0]
            if len(self.offers) > 1 and r.day is not None and r.time is not None:
                reference = self._resolve(r.day, r.time, r.ampm_explicit)
        if reference is None and r.day is not None and r.time is not None:
            reference = self._resolve(r.day, r.time, r.ampm_explicit)
        if reference is None and self.moving is not None:
            reference = self.moving.start
        if reference is None:
            return False  # later than what? asked again
        reference = reference.astimezone(self._tz())
        if when.shift is not None:
            self._set_start_from(reference + when.shift)
            return True
        r.day, r.days, r.weekdays, r.time, r.soonest = reference.date(), None, None, None, False
        step = timedelta(minutes=1)
        if later:
            r.window = ((reference + step).time(), time(23, 59))
        else:
            # Offered times must end inside the window: starts up to just before the reference.
            end = reference - step + r.service.duration if r.service else reference - step
            r.window = (time(0), min(end, reference.replace(hour=23, minute=59)).time())
        r.latest_first = not later
        r.start = None
        self.offers = []
        return True

    def _pick_offer(self, text: str, heard: Heard) -> datetime | None:
        index = pick_ordinal(text, len(self.offers))
        if index is not None:
            return self.offers[index]
        if heard.yes is True and len(self.offers) == 1:
            return self.offers[0]
        when = heard.when
        if when.day is not None and when.time is None and when.window is None:
            # "Friday, please" when one offer is on Friday: that offer.
            same_day = [offer for offer in self.offers if offer.date() == when.day]
            if len(same_day) == 1:
                return same_day[0]
        return None

    def _set_start_from(self, moment: datetime) -> None:
        local = moment.astimezone(self._tz())
        r = self.request
        r.day, r.time, r.ampm_explicit, r.window, r.days = (
            local.date(),
            local.time(),
            True,
            None,
            None,
        )
        r.start = None
        self.offers = []

    # -- Deciding what to say next ------------------------------------------------------

    async def _next_step(self) -> str:
        r = self.request
        if r.service is None:
            self._ask(Expecting.SERVICE)
            return f"What would you like to book? We offer {self._service_list()}."
        if r.start is None:
            answer = await self._find_start()
            if answer is not None:
                return answer
        if r.name is None:
            self._ask(Expecting.NAME)
            return "Great. Can I take your name, please?"
        if r.phone is None:
            self._ask(Expecting.PHONE)
            return f"Thanks, {r.name}. What's the best number to text your confirmation to?"
        if not r.phone_confirmed:
            self.step = Step.CONFIRM_PHONE
            self.expecting = Expecting.YES_NO
            return (
                f"Thanks, {r.name}. Shall I text the confirmation to the number you're calling "
                f"from, ending in {speak_phone(r.phone)[-7:]}?"
            )
        return self._read_back()

    async def _find_start(self) -> str | None:
        """Turn day/time/window into a checked start, or say what we need or can offer."""
        r = self.request
        today = self._today()
        if r.day is not None and r.day < today:
            r.day = None
            self._ask(Expecting.WHEN)
            return "That date has already passed. Which day would you like to come in?"
        if r.day is None and r.days is None:
            if r.time is not None:
                start = self._resolve(today, r.time, r.ampm_explicit)
                if start <= self.context.clock() + self._schedule_now().min_notice:
                    self._ask(Expecting.WHEN)
                    at = say_time(start.astimezone(self._tz()))
                    return f"Which day would you like to come in at {at}?"
                r.day = today
            elif r.window is not None:
                return await self._offer_in_days(
                    (today, today + timedelta(days=SPAN_DAYS_SEARCHED))
                )
            else:
                self._ask(Expecting.WHEN)
                return f"What day and time would you like for your {r.service.name.lower()}?"
        if r.days is not None:
            return await self._offer_in_days(r.days)
        if r.time is None:
            vague = r.window is None and not r.soonest
            schedule = self._schedule_now().for_service(r.service.pk)
            if vague and not schedule.offers_on(r.day):
                return await self._check(self._resolve(r.day, time(12), True), closed_day_only=True)
            if vague:
                self._ask(Expecting.TIME)
                return f"What time on {self._say_day(r.day)} would suit you?"
            return await self._offer_in_days((r.day, r.day))
        return await self._check(self._resolve(r.day, r.time, r.ampm_explicit))

    async def _check(self, start: datetime, *, closed_day_only: bool = False) -> str | None:
        r = self.request
        service = r.service
        context = self._booking_context(start)
        result = await self.context.provider.check_availability(context)
        if result.available and not closed_day_only:
            r.start = start
            return None
        reason = self._explain(result.reason, start)
        return self._offer(result.alternatives, lead=reason, service=service)

    async def _offer_in_days(self, days: tuple[date, date]) -> str:
        """Concrete free times for a vague request: one day's spread, or one per day."""
        r = self.request
        first, last = days
        low, high = r.window or (time(0), time(23, 59))
        found: list[datetime] = []
        day = max(first, self._today())
        while day <= last and len(found) < OFFER_COUNT:
            if r.weekdays and day.weekday() not in r.weekdays:
                day += timedelta(days=1)
                continue
            starts = await self.context.provider.free_starts(
                service=r.service,
                start=datetime.combine(day, low, tzinfo=self._tz()),
                end=datetime.combine(day, high, tzinfo=self._tz()),
                limit=48,
                moving_booking_id=self.moving.pk if self.moving is not None else None,
            )
            if r.latest_first:
                starts = starts[::-1]
            if first == last or r.day is not None:
                found = self._spread(starts)
                break
            # "As soon as you can": the first few free times; otherwise one time a day.
            per_day = self._spread(starts)[: OFFER_COUNT - len(found)] if r.soonest else starts[:1]
            found.extend(per_day)
            day += timedelta(days=1)
        if not found:
            where = self._say_day(first) if first == last else "then"
            self.request.window = None
            self.request.days = None
            self.request.soonest = False
            self._ask(Expecting.WHEN)
            return f"I'm sorry, I don't have anything free {where}. Would another day work?"
        return self._offer(found, lead="")

    def _spread(self, starts: list[datetime]) -> list[datetime]:
        """Up to three starts at least half an hour apart, so the offers are real choices."""
        picked: list[datetime] = []
        for start in starts:
            if not picked or abs(start - picked[-1]) >= timedelta(minutes=30):
                picked.append(start)
            if len(picked) == OFFER_COUNT:
                break
        return picked

    def _offer(
        self, alternatives: list[datetime], *, lead: str, service: Service | None = None
    ) -> str:
        # Said in time order, so "the later one" and "the first one" mean what they say.
        self.offers = sorted(a.astimezone(self._tz()) for a in alternatives)
        if not self.offers:
            self._ask(Expecting.WHEN)
            question = "I don't have anything free soon. Would you like to try another day?"
            return f"{lead} {question}".strip()
        self.step = Step.OFFERED
        self.expecting = Expecting.CHOICE
        times = say_offers(self.offers, self._today(), full=self.request.ambiguous)
        if len(self.offers) == 1:
            return f"{lead} I can do {times}. Would that work?".strip()
        return f"{lead} I can do {times}. Which would you like?".strip()

    def _explain(self, reason: Refusal | None, start: datetime) -> str:
        service = self.request.service
        schedule = self._schedule_now().for_service(service.pk if service else None)
        return explain_refusal(reason, start, schedule=schedule, today=self._today())

    def _read_back(self) -> str:
        r = self.request
        local = r.start.astimezone(self._tz())
        self.step = Step.CONFIRM_BOOKING
        self.expecting = Expecting.YES_NO
        when = f"{say_date(local.date())} at {say_time(local)}"
        if self.moving is not None:
            old = self.moving.start.astimezone(self._tz())
            return (
                f"To confirm, I'll move your {self.moving.service.name.lower()} from "
                f"{say_date(old.date())} at {say_time(old)} to {when}. Shall I do that?"
            )
        return (
            f"{with_article(r.service.name).capitalize()} for {r.name} on {when}. Shall I book it?"
        )

    # -- Doing things ---------------------------------------------------------------------

    async def _book(self) -> str:
        r = self.request
        if self.moving is not None:
            return await self._move()
        context = self._booking_context(r.start)
        intent = await self.context.provider.create_booking(context)
        if not intent.booked:
            r.start = None
            lead = "I'm sorry, that time was just taken."
            return self._offer(intent.alternatives, lead=lead)
        self.state.outcome = "booked"
        self.state.booking_id = intent.booking_id
        await self._after_booked(context, intent.booking_id)
        self.step = Step.DONE
        self.ending = Ending(reason="booked")
        local = r.start.astimezone(self._tz())
        return (
            f"You're all set, {r.name}: {with_article(r.service.name)} on {say_date(local.date())} "
            f"at {say_time(local)}. I'll text you a confirmation. Thanks for calling "
            f"{self.context.business.name}, goodbye!"
        )

    async def _after_booked(self, context: BookingContext, booking_id: int) -> None:
        # Off the critical path: enqueued durably, sent in the background. Never raises.
        await after_booked(provider=self.context.provider, context=context, booking_id=booking_id)

    async def _move(self) -> str:
        r = self.request
        context = self._booking_context(r.start)
        intent = await self.context.provider.move_booking(context, self.moving.pk)
        if not intent.booked:
            start, r.start = r.start, None
            return self._offer(intent.alternatives, lead=self._explain(intent.reason, start))
        self.state.outcome = "moved"
        self.state.booking_id = intent.booking_id
        await self._after_booked(context, intent.booking_id)
        self.step = Step.DONE
        self.ending = Ending(reason="moved")
        local = r.start.astimezone(self._tz())
        return (
            f"Done. Your {r.service.name.lower()} is now on {say_date(local.date())} at "
            f"{say_time(local)}. I'll text you a confirmation. Goodbye!"
        )

    async def _start_cancel(self) -> str:
        booking = await self._callers_next_booking()
        if isinstance(booking, str):
            return booking
        self.cancelling = booking
        self.step = Step.CONFIRM_CANCEL
        self.expecting = Expecting.YES_NO
        local = booking.start.astimezone(self._tz())
        return (
            f"I see {with_article(booking.service.name)} for {booking.customer_name} on "
            f"{say_date(local.date())} at {say_time(local)}. Shall I cancel it?"
        )

    async def _confirm_cancel(self, heard: Heard) -> str:
        if heard.yes is True:
            await run_orm(cancel_booking_service)(booking=self.cancelling)
            self.state.outcome = "cancelled"
            self.state.booking_id = self.cancelling.pk
            self.step = Step.DONE
            self.ending = Ending(reason="cancelled")
            return "That's cancelled. Thanks for letting us know, goodbye!"
        if heard.yes is False:
            self.cancelling = None
            self.step = Step.GATHER
            return "Okay, I'll leave it as it is. Is there anything else I can help with?"
        return "Sorry, shall I cancel that booking? Please say yes or no."

    async def _start_move(self, heard: Heard) -> str:
        booking = await self._callers_next_booking()
        if isinstance(booking, str):
            return booking
        self.moving = booking
        r = self.request
        r.service = self._services_by_id.get(booking.service_id, booking.service)
        r.name, r.phone, r.phone_confirmed = booking.customer_name, booking.customer_phone, True
        r.day = r.time = r.window = r.days = r.start = None
        self._absorb_when(heard.when)
        local = booking.start.astimezone(self._tz())
        lead = (
            f"I see your {booking.service.name.lower()} on {say_date(local.date())} at "
            f"{say_time(local)}."
        )
        if r.day or r.time or r.days or r.window:
            answer = await self._next_step()
            return f"{lead} {answer}"
        self._ask(Expecting.WHEN)
        return f"{lead} What day and time would you like instead?"

    async def _callers_next_booking(self) -> Booking | str:
        phone = self.context.caller_number
        if not phone:
            return (
                "I can only find bookings by the number you're calling from, and it's withheld. "
                "Would you like to leave a message instead?"
            )
        bookings = await run_orm(upcoming_bookings)(
            business=self.context.business, phone=phone, now=self.context.clock()
        )
        if not bookings:
            self.step = Step.GATHER
            return (
                "I can't find an upcoming booking for the number you're calling from. "
                "Would you like to make a new one?"
            )
        return bookings[0]

    # -- People and messages --------------------------------------------------------------

    def _to_a_person(self) -> str:
        transfer = self.context.business.transfer_number
        if transfer:
            self.state.outcome = "transferred"
            self.step = Step.DONE
            self.ending = Ending(reason="transfer", transfer_to=transfer)
            return "Of course. Let me put you through to someone now."
        self.state.events.append(("person_unreachable", "No transfer number is set."))
        return self._start_message(
            lead="There's no one available to take your call right now, but I can take a message."
        )

    def _start_message(self, lead: str = "Of course.") -> str:
        self.step = Step.TAKE_MESSAGE
        self.expecting = Expecting.NOTHING
        return f"{lead} What would you like me to pass on? Please include your name."

    def _take_message(self, text: str) -> str:
        caller = self.context.caller_number or "withheld number"
        who = f"{self.request.name} ({caller})" if self.request.name else caller
        self.state.message = f"From {who}: {text}"
        self.state.outcome = "message_taken"
        self.step = Step.DONE
        self.ending = Ending(reason="message")
        return "Thank you, I'll make sure they get your message. Goodbye!"

    def _after_offering_help(self, heard: Heard) -> str:
        if heard.yes is True:
            return self._to_a_person()
        self.step = Step.GATHER
        self.misses = 0
        if heard.yes is False:
            return "Okay, let's try again. " + self._prompt_again()
        self._absorb(heard)
        return "Let's try again. " + self._prompt_again()

    def _goodbye(self) -> str:
        self.step = Step.DONE
        self.ending = Ending(reason="goodbye")
        return f"Thanks for calling {self.context.business.name}. Goodbye!"

    def _missed(self, lead: str) -> str:
        self.misses += 1
        if self.misses >= MAX_MISSES:
            self.step = Step.OFFER_HELP
            self.expecting = Expecting.YES_NO
            lead = "I'm sorry, I'm having trouble understanding."
            if self.context.business.transfer_number:
                return f"{lead} Would you like me to put you through to someone?"
            return f"{lead} Would you like to leave a message instead?"
        return f"{lead} {self._prompt_again()}"

    def _prompt_again(self) -> str:
        """The current question, asked plainly (after noise, a question, or a detour)."""
        r = self.request
        if self.step == Step.CONFIRM_BOOKING:
            return "Shall I book it? Please say yes or no."
        if self.step == Step.CONFIRM_PHONE:
            return "Shall I text the confirmation to the number you're calling from? Yes or no?"
        if self.step == Step.OFFERED and self.offers:
            offers = say_offers(self.offers, self._today(), full=r.ambiguous)
            return f"I can do {offers}. Which would you like?"
        if r.service is None:
            return f"What would you like to book? For example, {self._service_list()}."
        if r.start is None and r.day is None:
            return f"What day would you like to come in for your {r.service.name.lower()}?"
        if r.start is None:
            return f"What time on {self._say_day(r.day)} would suit you?"
        if r.name is None:
            return "Can I take your name, please?"
        return "What's the best number to text your confirmation to? Please say the digits."

    # -- Helpers ----------------------------------------------------------------------------

    def _ask(self, what: Expecting) -> None:
        self.expecting = what
        if self.step not in (Step.OFFERED,) or what != Expecting.CHOICE:
            self.step = Step.GATHER

    def _say_day(self, day: date) -> str:
        """ "Friday", or "Friday, November 27th" when the caller's words could mean two dates."""
        return say_date(day) if self.request.ambiguous else say_day(day, self._today())

    def _service_list(self) -> str:
        return say_list([s.name.lower() for s in self.context.services])

    def _booking_context(self, start: datetime) -> BookingContext:
        r = self.request
        return BookingContext(
            business=self.context.business,
            service=r.service,
            start=start,
            end=start + r.service.duration,
            customer_name=r.name or "",
            customer_phone=r.phone or "",
            call_sid=self.context.call_sid,
            # While moving, the caller's own booking is not in the way of its new time.
            moving_booking_id=self.moving.pk if self.moving is not None else None,
        )

    def _resolve(self, day: date, heard_time: time, explicit: bool) -> datetime:
        """'At 3' means 3 PM at a salon: the reading that falls inside opening hours wins."""
        ranges = self._schedule_now().ranges_on(day)
        candidates = plausible_times(heard_time, explicit)
        for candidate in candidates:
            if any(opens <= candidate < closes for opens, closes in ranges):
                return datetime.combine(day, candidate, tzinfo=self._tz())
        return datetime.combine(day, candidates[0], tzinfo=self._tz())

    def _schedule_now(self) -> Schedule:
        assert self._schedule is not None, "loaded at the start of each turn"
        return self._schedule

    def _tz(self):
        return self.context.business.tz

    def _today(self) -> date:
        return self.context.clock().astimezone(self._tz()).date()
