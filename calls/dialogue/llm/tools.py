"""The tools the model calls, and the ToolBox that runs them against our own services.

The same provider and booking services as the embedded receptionist; the model only chooses
what to ask for. Every argument is checked, and every problem comes back as a tool result the
model can act on ({"error": "...what to do..."}), never as an exception. Nothing is booked,
moved or cancelled without the read-back-and-yes rule of consent.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from bookings.models import Booking, Service
from bookings.orm import run_orm
from bookings.providers.base import BookingContext
from bookings.services import cancel_booking as cancel_booking_service
from bookings.services import upcoming_bookings
from bookings.slots import Refusal, Schedule
from calls.confirmations import after_booked
from calls.dialogue.base import CallContext, Ending, EngineState
from calls.dialogue.embedded import with_article
from calls.dialogue.llm.arguments import read_phone, read_service, read_start
from calls.dialogue.llm.consent import Consent
from calls.dialogue.llm.handover import Gathered
from calls.dialogue.llm.history import History
from calls.dialogue.speech import explain_refusal, say_date, say_day, say_offers, say_slot, say_time

logger = logging.getLogger(__name__)

OFFER_COUNT = 3
BOOKINGS_LISTED = 3
# Tools that change something: refused once the call is ending.
CHANGES = frozenset(
    {"book", "cancel_booking", "move_booking", "transfer_to_person", "take_message"}
)
START_FORMAT = "%Y-%m-%d %H:%M"


def _function(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_SERVICE = {"type": "string", "description": "The service's name, as listed in the prompt."}
_START = {
    "type": "string",
    "description": "Local date and time, 'YYYY-MM-DD HH:MM' (24-hour), in the business's zone.",
}
_BOOKING_ID = {"type": "integer", "description": "The booking_id from find_my_booking."}

TOOLS: list[dict[str, Any]] = [
    _function(
        "check_availability",
        "Check whether a service can be booked at a time. If free, returns the words to read "
        "back; if not, why and the nearest free times. Given only a day ('YYYY-MM-DD'), "
        "returns free times that day. When checking a new time for a booking the caller "
        "is moving, also give its booking_id: its current time is then not in the way.",
        {
            "service": _SERVICE,
            "start": _START,
            "booking_id": {
                "type": "integer",
                "description": "Only when moving a booking: its booking_id from find_my_booking.",
            },
        },
        ["service", "start"],
    ),
    _function(
        "book",
        "Book the slot check_availability just accepted. Only after reading it back to the "
        "caller and hearing their yes.",
        {
            "service": _SERVICE,
            "start": _START,
            "customer_name": {"type": "string", "description": "The caller's name."},
            "phone": {
                "type": "string",
                "description": "Only if the caller gave another number for the confirmation "
                "text; otherwise leave it out (the number they are calling from is used).",
            },
        },
        ["service", "start", "customer_name"],
    ),
    _function(
        "find_my_booking",
        "The caller's upcoming bookings, found by the number they are calling from.",
        {},
        [],
    ),
    _function(
        "cancel_booking",
        "Cancel a booking find_my_booking returned. Only after reading it back to the caller "
        "and hearing their yes.",
        {"booking_id": _BOOKING_ID},
        ["booking_id"],
    ),
    _function(
        "move_booking",
        "Move a booking find_my_booking returned to a new time check_availability just "
        "accepted (checked with this booking_id). Only after reading the new time back to the "
        "caller and hearing their yes.",
        {"booking_id": _BOOKING_ID, "new_start": _START},
        ["booking_id", "new_start"],
    ),
    _function(
        "transfer_to_person",
        "Put the caller through to a member of staff.",
        {},
        [],
    ),
    _function(
        "take_message",
        "Take a message for the staff.",
        {
            "message": {"type": "string", "description": "The message, in the caller's words."},
            "caller_name": {"type": "string", "description": "The caller's name, if given."},
        },
        ["message"],
    ),
    _function(
        "end_call",
        "End the call after your goodbye (the caller has nothing more).",
        {},
        [],
    ),
]


def _error(message: str) -> dict[str, Any]:
    return {"error": message}


class ToolBox:
    def __init__(
        self,
        *,
        context: CallContext,
        state: EngineState,
        consent: Consent,
        gathered: Gathered,
        history: History,
        schedule: Schedule,
    ) -> None:
        self.context = context
        self.state = state
        self.consent = consent
        self.gathered = gathered
        self.history = history
        self.schedule = schedule
        self.ending: Ending | None = None
        self.closing_words = ""  # said if the model has nothing to add after an ending
        self.found: dict[int, Booking] = {}
        self._handlers: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
            "check_availability": self.check_availability,
            "book": self.book,
            "find_my_booking": self.find_my_booking,
            "cancel_booking": self.cancel_booking,
            "move_booking": self.move_booking,
            "transfer_to_person": self.transfer_to_person,
            "take_message": self.take_message,
            "end_call": self.end_call,
        }

    async def execute(
        self, name: str, arguments: str, *, turn: int, utterance: str
    ) -> dict[str, Any]:
        """Run one tool call; always returns a result for the model."""
        handler = self._handlers.get(name)
        if handler is None:
            return _error(f"There is no tool called {name!r}.")
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            return _error("The arguments were not valid JSON. Call the tool again.")
        if not isinstance(args, dict):
            return _error("The arguments must be a JSON object. Call the tool again.")
        if self.ending is not None and name in CHANGES:
            return _error("The call is already ending. Just say goodbye.")
        try:
            return await handler(args, turn=turn, utterance=utterance)
        except Exception:
            logger.exception("Call %s: tool %s failed", self.context.call_sid, name)
            self.state.events.append(("llm_tool_error", f"{name} failed"))
            return _error(
                "That could not be done because of a problem on our side. Apologise, and "
                "offer to take a message for the staff."
            )

    # -- Availability ------------------------------------------------------------------

    async def check_availability(self, args: dict, **_: Any) -> dict[str, Any]:
        service = read_service(args.get("service"), self.context.services)
        if service is None:
            return self._unknown_service(args.get("service"))
        reading = read_start(args.get("start"), schedule=self.schedule, today=self._today())
        if reading.problem:
            return _error(reading.problem)
        moving = None
        if args.get("booking_id") is not None:
            moving = self._found(args.get("booking_id"))
            if moving is None:
                return _error("That booking was not found for this caller. Call find_my_booking.")
        moving_id = moving.pk if moving is not None else None
        # Whatever this check says, the slot accepted before it is no longer "just accepted".
        self.consent.withdraw_slot()
        self.gathered.service = service
        if reading.start is None:
            return await self._free_times(service, reading.day, reading.window, moving_id)
        start = reading.start
        self.gathered.start = start
        result = await self.context.provider.check_availability(
            self._context(service, start, moving_booking_id=moving_id)
        )
        if result.available:
            proposal = self.consent.propose_slot(
                service_id=service.pk, start=start, after=self.history.serial, today=self._today()
            )
            return {
                "available": True,
                "service": service.name,
                "start": f"{start:{START_FORMAT}}",
                "say": proposal.words,
                "next": "Read the booking back with these words for the time, ask the caller "
                "to confirm, and call book only after they say yes.",
            }
        return {
            "available": False,
            "service": service.name,
            "start": f"{start:{START_FORMAT}}",
            "reason": result.reason.value if result.reason else "unavailable",
            **self._refusal(result.reason, start, result.alternatives, service),
        }

    async def _free_times(
        self,
        service: Service,
        day: date,
        window: tuple[time, time] | None,
        moving_booking_id: int | None = None,
    ) -> dict[str, Any]:
        tz = self.schedule.tz
        low, high = window or (time(0), time(23, 59))
        schedule = self.schedule.for_service(service.pk)
        if not schedule.offers_on(day):
            when = datetime.combine(day, time(12), tzinfo=tz)
            reason = Refusal.CLOSED_DAY if not schedule.is_open_on(day) else Refusal.SERVICE_HOURS
            return {
                "available": False,
                "reason": reason.value,
                "explanation": explain_refusal(
                    reason, when, schedule=schedule, today=self._today()
                ),
                "next": "Tell the caller and ask which other day would suit them.",
            }
        starts = await self.context.provider.free_starts(
            service=service,
            start=datetime.combine(day, low, tzinfo=tz),
            end=datetime.combine(day, high, tzinfo=tz),
            limit=48,
            moving_booking_id=moving_booking_id,
        )
        picked = [moment.astimezone(tz) for moment in _spread(starts)]
        if not picked:
            return {
                "available": False,
                "reason": "nothing_free",
                "explanation": f"I'm sorry, I don't have anything free "
                f"{say_day(day, self._today())}.",
                "next": "Tell the caller and ask whether another day would work.",
            }
        return {
            "available": False,
            "reason": "no_time_given",
            "free_times": [self._offer(m) for m in picked],
            "say_free_times": say_offers(picked, self._today()),
            "next": "Offer these times and check the one the caller chooses.",
        }

    # -- Booking, cancelling, moving ---------------------------------------------------

    async def book(self, args: dict, *, turn: int, utterance: str) -> dict[str, Any]:
        service = read_service(args.get("service"), self.context.services)
        if service is None:
            return self._unknown_service(args.get("service"))
        reading = read_start(args.get("start"), schedule=self.schedule, today=self._today())
        if reading.problem or reading.start is None:
            return _error(reading.problem or "Give the exact start that was checked.")
        start = reading.start
        name = str(args.get("customer_name") or "").strip()
        if name:
            self.gathered.name = name
        phone = self.context.caller_number or None
        if args.get("phone"):
            phone = read_phone(args.get("phone"))
            if phone is None:
                return _error(
                    f"{args.get('phone')!r} is not a phone number. Ask the caller for the "
                    "number again, digit by digit."
                )
            self.gathered.phone, self.gathered.phone_confirmed = phone, True
        refusal = self.consent.refusal(
            self.consent.slot,
            key=("slot", service.pk, start),
            turn=turn,
            utterance=utterance,
            action="call book",
        )
        if refusal:
            return _error(refusal)
        if not name:
            return _error("Ask the caller for their name first.")
        if phone is None:
            return _error("The caller's number is withheld. Ask for a number to text.")
        context = self._context(service, start, name=name, phone=phone)
        intent = await self.context.provider.create_booking(context)
        local = start.astimezone(self.schedule.tz)
        return await self._settle(
            intent,
            context,
            outcome="booked",
            goodbye=f"You're all set, {name}: {with_article(service.name)} on "
            f"{say_date(local.date())} at {say_time(local)}. I'll text you a confirmation. "
            f"Thanks for calling {self.context.business.name}, goodbye!",
            next_step="Tell the caller they're all set and a text confirmation is on its way, "
            "then say goodbye. The call ends after your answer.",
        )

    async def _settle(
        self, intent, context: BookingContext, *, outcome: str, goodbye: str, next_step: str
    ) -> dict[str, Any]:
        """After create_booking / move_booking: the refusal for the model to act on, or the
        outcome recorded, the follow-ups queued and the call set to end with `goodbye`."""
        self.consent.withdraw_slot()
        done = "booked" if outcome == "booked" else "moved"
        if not intent.booked:
            return {
                done: False,
                "reason": intent.reason.value if intent.reason else "taken",
                **self._refusal(intent.reason, context.start, intent.alternatives, context.service),
            }
        self.state.outcome = outcome
        self.state.booking_id = intent.booking_id
        await self._after_booked(context, intent.booking_id)
        self._end(Ending(reason=outcome), goodbye)
        local = context.start.astimezone(self.schedule.tz)
        return {done: True, "say": say_slot(local, self._today(), full=True), "next": next_step}

    async def find_my_booking(self, args: dict, **_: Any) -> dict[str, Any]:
        phone = self.context.caller_number
        if not phone:
            return _error(
                "The caller's number is withheld, so their bookings can't be looked up. "
                "Offer to take a message instead."
            )
        bookings = await run_orm(upcoming_bookings)(
            business=self.context.business, phone=phone, now=self.context.clock()
        )
        found = []
        for booking in bookings[:BOOKINGS_LISTED]:
            self.found[booking.pk] = booking
            local = booking.start.astimezone(self.schedule.tz)
            proposal = self.consent.propose_cancel(
                booking_id=booking.pk, start=local, after=self.history.serial, today=self._today()
            )
            found.append(
                {
                    "booking_id": booking.pk,
                    "service": booking.service.name,
                    "customer_name": booking.customer_name,
                    "start": f"{local:{START_FORMAT}}",
                    "say": proposal.words,
                }
            )
        if not found:
            return {
                "bookings": [],
                "next": "Tell the caller you can't find an upcoming booking for the number "
                "they're calling from, and ask whether they would like to make one.",
            }
        return {"bookings": found}

    async def cancel_booking(self, args: dict, *, turn: int, utterance: str) -> dict[str, Any]:
        booking = self._found(args.get("booking_id"))
        if booking is None:
            return _error("That booking was not found for this caller. Call find_my_booking.")
        refusal = self.consent.refusal(
            self.consent.cancels.get(booking.pk),
            key=("cancel", booking.pk),
            turn=turn,
            utterance=utterance,
            action="call cancel_booking",
        )
        if refusal:
            return _error(refusal)
        await run_orm(cancel_booking_service)(booking=booking)
        self.consent.cancels.pop(booking.pk, None)
        self.state.outcome = "cancelled"
        self.state.booking_id = booking.pk
        self._end(
            Ending(reason="cancelled"), "That's cancelled. Thanks for letting us know, goodbye!"
        )
        return {
            "cancelled": True,
            "next": "Tell the caller it's cancelled and say goodbye. The call ends after "
            "your answer.",
        }

    async def move_booking(self, args: dict, *, turn: int, utterance: str) -> dict[str, Any]:
        booking = self._found(args.get("booking_id"))
        if booking is None:
            return _error("That booking was not found for this caller. Call find_my_booking.")
        reading = read_start(args.get("new_start"), schedule=self.schedule, today=self._today())
        if reading.problem or reading.start is None:
            return _error(reading.problem or "Give the exact new start that was checked.")
        start = reading.start
        refusal = self.consent.refusal_to_move(
            booking_id=booking.pk,
            service_id=booking.service_id,
            start=start,
            turn=turn,
            utterance=utterance,
        )
        if refusal:
            return _error(refusal)
        context = self._context(
            booking.service,
            start,
            name=booking.customer_name,
            phone=booking.customer_phone,
            moving_booking_id=booking.pk,
        )
        intent = await self.context.provider.move_booking(context, booking.pk)
        local = start.astimezone(self.schedule.tz)
        return await self._settle(
            intent,
            context,
            outcome="moved",
            goodbye=f"Done. Your {booking.service.name.lower()} is now on "
            f"{say_date(local.date())} at {say_time(local)}. I'll text you a confirmation. "
            "Goodbye!",
            next_step="Tell the caller it's moved and a text confirmation is on its way, then "
            "say goodbye. The call ends after your answer.",
        )

    # -- People, messages, the end -----------------------------------------------------

    async def transfer_to_person(self, args: dict, **_: Any) -> dict[str, Any]:
        transfer = self.context.business.transfer_number
        if not transfer:
            self.state.events.append(("person_unreachable", "No transfer number is set."))
            return _error(
                "Nobody is available to take the call. Offer to take a message (take_message)."
            )
        self.state.outcome = "transferred"
        self._end(
            Ending(reason="transfer", transfer_to=transfer),
            "Of course. Let me put you through to someone now.",
        )
        return {
            "transferring": True,
            "next": "Tell the caller you're putting them through now. The call is transferred "
            "after your answer.",
        }

    async def take_message(self, args: dict, **_: Any) -> dict[str, Any]:
        message = str(args.get("message") or "").strip()
        if not message:
            return _error("The message is empty. Ask the caller what they would like to pass on.")
        name = str(args.get("caller_name") or "").strip() or self.gathered.name
        caller = self.context.caller_number or "withheld number"
        who = f"{name} ({caller})" if name else caller
        self.state.message = f"From {who}: {message}"
        self.state.outcome = "message_taken"
        self._end(
            Ending(reason="message"), "Thank you, I'll make sure they get your message. Goodbye!"
        )
        return {
            "message_taken": True,
            "next": "Tell the caller the message will be passed on and say goodbye. The call "
            "ends after your answer.",
        }

    async def end_call(self, args: dict, **_: Any) -> dict[str, Any]:
        if self.ending is None:
            self._end(
                Ending(reason="goodbye"),
                f"Thanks for calling {self.context.business.name}. Goodbye!",
            )
        return {"ending": True, "next": "Say goodbye. The call ends after your answer."}

    # -- Helpers -------------------------------------------------------------------------

    def _end(self, ending: Ending, closing_words: str) -> None:
        self.ending = ending
        self.closing_words = closing_words

    async def _after_booked(self, context: BookingContext, booking_id: int) -> None:
        # As the embedded engine: queued durably, off the call's critical path. Never raises.
        await after_booked(provider=self.context.provider, context=context, booking_id=booking_id)

    def _refusal(
        self,
        reason: Refusal | None,
        start: datetime,
        alternatives: list[datetime],
        service: Service,
    ) -> dict[str, Any]:
        offers = sorted(a.astimezone(self.schedule.tz) for a in alternatives)[:OFFER_COUNT]
        schedule = self.schedule.for_service(service.pk)
        explanation = explain_refusal(reason, start, schedule=schedule, today=self._today())
        if not offers:
            return {
                "explanation": explanation,
                "alternatives": [],
                "next": "Tell the caller why, and ask whether another day would work.",
            }
        return {
            "explanation": explanation,
            "alternatives": [self._offer(m) for m in offers],
            "say_alternatives": say_offers(offers, self._today()),
            "next": "Tell the caller why and offer the alternatives; check the one they choose.",
        }

    def _offer(self, moment: datetime) -> dict[str, str]:
        local = moment.astimezone(self.schedule.tz)
        return {"start": f"{local:{START_FORMAT}}", "say": say_slot(local, self._today())}

    def _unknown_service(self, asked: object) -> dict[str, Any]:
        services = self.context.services
        offered = ", ".join(f"{s.name} ({s.duration_minutes} minutes)" for s in services)
        return _error(
            f"We don't offer {asked!r}. The services are: {offered or 'none'}. "
            "Ask the caller which of these they would like."
        )

    def _found(self, raw: object) -> Booking | None:
        try:
            return self.found.get(int(raw))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def _context(
        self,
        service: Service,
        start: datetime,
        *,
        name: str = "",
        phone: str = "",
        moving_booking_id: int | None = None,
    ) -> BookingContext:
        return BookingContext(
            business=self.context.business,
            service=service,
            start=start,
            end=start + service.duration,
            customer_name=name,
            customer_phone=phone,
            call_sid=self.context.call_sid,
            moving_booking_id=moving_booking_id,
        )

    def _today(self) -> date:
        return self.context.clock().astimezone(self.schedule.tz).date()


def _spread(starts: list[datetime]) -> list[datetime]:
    """Up to three starts at least half an hour apart, so the offers are real choices."""
    picked: list[datetime] = []
    for start in starts:
        if not picked or start - picked[-1] >= timedelta(minutes=30):
            picked.append(start)
        if len(picked) == OFFER_COUNT:
            break
    return picked
