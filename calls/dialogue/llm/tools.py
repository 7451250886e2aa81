"""The tools the model calls, and the ToolBox: thin adapters over the booking desk.

The same desk as the embedded receptionist (calls.dialogue.desk) does every action; the model
only chooses what to ask for. Every argument is checked, and every problem comes back as a
tool result the model can act on ({"error": "...what to do..."}), never as an exception.
Nothing is booked, moved or cancelled unless the tools just proposed it (consent.py: the slot
just checked, the booking just found) AND the caller heard every field of it read back and
said yes (the desk's rule, calls.dialogue.consent). A phone number is the caller ID or digits
the caller said.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any

from bookings.models import Booking, Service
from bookings.providers.base import ProviderUnavailable
from bookings.slots import Refusal, Schedule
from calls.dialogue.base import CallContext, Ending, EngineState
from calls.dialogue.consent import Change, phone_was_given
from calls.dialogue.desk import Desk, Done
from calls.dialogue.llm.arguments import read_phone, read_service, read_start
from calls.dialogue.llm.client import ToolDefinitions
from calls.dialogue.llm.consent import Consent
from calls.dialogue.llm.handover import Gathered
from calls.dialogue.llm.history import History
from calls.dialogue.speech import (
    UNAVAILABLE_WORDS,
    explain_refusal,
    on_day,
    say_day,
    say_offers,
    say_slot,
)
from calls.understanding.intents import yes_or_no
from calls.understanding.requests import Question
from calls.understanding.when import WhenParse

logger = logging.getLogger(__name__)

OFFER_COUNT = 3
BOOKINGS_LISTED = 3
# Tools that change something: refused once the call is ending.
CHANGES = frozenset(
    {"book", "cancel_booking", "move_booking", "transfer_to_person", "take_message"}
)
NOT_SAID = (
    "Not done: the caller never said {phone!r}. Use the number they are calling from, or ask "
    "them for the number, read it back digit by digit, and wait for their yes."
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

_DEFINITIONS: list[dict[str, Any]] = [
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
                "description": "Only if the caller said another number for the confirmation "
                "text (read it back digit by digit first); otherwise leave it out (the number "
                "they are calling from is used).",
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
        "business_info",
        "Answer a caller's question about the business: opening hours (optionally on a day), "
        "a service's price or how long it takes, the services offered, the address, what the "
        "business is, or the caller's own upcoming bookings. Say the answer in its words; "
        "never guess a price or an address.",
        {
            "topic": {"type": "string", "enum": [q.value for q in Question]},
            "service": {"type": "string", "description": "For price or duration, if named."},
            "day": {
                "type": "string",
                "description": "For hours on one day, or the caller's bookings on the day they "
                "named: 'YYYY-MM-DD'.",
            },
        },
        ["topic"],
    ),
    _function(
        "end_call",
        "End the call after your goodbye (the caller has nothing more).",
        {},
        [],
    ),
]
# Fixed, and encoded once: what every request sends (calls/dialogue/llm/client.py).
TOOLS = ToolDefinitions(_DEFINITIONS)


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
        self.desk = Desk(context, state)
        self.desk.schedule = schedule
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
            "business_info": self.business_info,
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
        # Whatever this check says, the slot accepted before it is no longer "just accepted".
        self.consent.withdraw_slot()
        self.gathered.service = service
        if reading.start is None:
            return await self._free_times(service, reading.day, reading.window, moving)
        start = reading.start
        self.gathered.start = start
        checked = await self.desk.check(service, start, moving=moving)
        if checked.available:
            proposal = self.consent.propose_slot(
                service_id=service.pk, start=start, after=self.history.serial, today=self._today()
            )
            if moving is not None:
                words = self.desk.read_back(self.desk.change_to_move(moving, start))
            else:
                words = f"{service.name.lower()} on {proposal.words}"
            return {
                "available": True,
                "service": service.name,
                "start": f"{start:{START_FORMAT}}",
                "say": proposal.words,
                "read_back": words,
                "next": "Read back everything that will be written (the service, these words "
                "for the time, the caller's name, and any number other than the one they are "
                "calling from, digit by digit; for a move, the booking being moved too), ask "
                "the caller to confirm, and act only after they say yes.",
            }
        if checked.unchanged:
            return {
                "available": False,
                "reason": "unchanged",
                "say": checked.explanation,
                "next": "Nothing to move: ask the caller when they would like it instead.",
            }
        return {
            "available": False,
            "service": service.name,
            "start": f"{start:{START_FORMAT}}",
            "reason": checked.reason.value if checked.reason else "unavailable",
            **self._refusal(checked.reason, start, checked.alternatives, service),
        }

    async def _free_times(
        self,
        service: Service,
        day: date,
        window: tuple[time, time] | None,
        moving: Booking | None = None,
    ) -> dict[str, Any]:
        tz = self.schedule.tz
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
        try:
            picked = await self.desk.free_times(service, day, day, window=window, moving=moving)
        except ProviderUnavailable:
            return _unavailable()
        if not picked:
            return {
                "available": False,
                "reason": "nothing_free",
                "explanation": f"I'm sorry, I don't have anything free "
                f"{on_day(say_day(day, self._today()))}.",
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
            if not phone_was_given(
                phone,
                caller_id=self.context.caller_number,
                caller_words=self.history.caller_turns,
            ):
                return _error(NOT_SAID.format(phone=args.get("phone")))
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
        change = self.desk.change_to_book(service, start, name, phone)
        refusal = self._agreed(change, turn=turn, utterance=utterance)
        if refusal:
            return _error(refusal)
        return await self._settle(
            change,
            await self.desk.commit(change),
            next_step="Tell the caller they're all set and a text confirmation is on its way, "
            "then say goodbye. The call ends after your answer.",
        )

    async def _settle(self, change: Change, done: Done, *, next_step: str) -> dict[str, Any]:
        """After a booking or move: the refusal for the model to act on, or the call set to
        end with the desk's confirmation."""
        self.consent.withdraw_slot()
        key = "booked" if change.action == "book" else "moved"
        if done.reason == Refusal.CHANGED:
            return _changed(done, key)
        if not done.ok:
            return {
                key: False,
                "reason": done.reason.value if done.reason else "taken",
                **self._refusal(done.reason, change.start, done.alternatives, change.service),
            }
        self._end(done.words)
        return {
            key: True,
            "say": say_slot(change.start, self._today(), full=True),
            "next": next_step,
        }

    async def find_my_booking(self, args: dict, **_: Any) -> dict[str, Any]:
        bookings = await self.desk.callers_bookings()
        if bookings is None:
            return _error(
                "The caller's number is withheld, so their bookings can't be looked up. "
                "Offer to take a message instead."
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
                "next": "Tell the caller you don't see an upcoming booking under the number "
                "they're calling from. If it was made under another number or name, offer to "
                "take a message so the team can find it and call back; bookings are never looked "
                "up by another number on the phone. Or offer to make a new booking.",
            }
        result: dict[str, Any] = {"bookings": found}
        if len(found) > 1:
            result["next"] = (
                "If the caller named a service or a day, pick the booking that matches. If it "
                f"is still unclear, ask: {self.desk.which_one(bookings)!r}"
            )
        return result

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
        change = self.desk.change_to_cancel(booking)
        refusal = refusal or self._agreed(change, turn=turn, utterance=utterance)
        if refusal:
            return _error(refusal)
        done = await self.desk.commit(change)
        self.consent.cancels.pop(booking.pk, None)
        if not done.ok:
            return _changed(done, "cancelled")
        self._end(done.words)
        return {
            "cancelled": True,
            "next": "Tell the caller it's cancelled and a text is on its way, and say goodbye. "
            "The call ends after your answer.",
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
        change = self.desk.change_to_move(booking, start)
        refusal = refusal or self._agreed(change, turn=turn, utterance=utterance)
        if refusal:
            return _error(refusal)
        return await self._settle(
            change,
            await self.desk.commit(change),
            next_step="Tell the caller it's moved and a text with the new time is on its way, "
            "then say goodbye. The call ends after your answer.",
        )

    def caller_answered(self, *, turn: int, utterance: str) -> None:
        """A no right after a booking or a move was read back: the call is recorded as
        declined unless something else comes of it (a list of bookings is no read-back)."""
        slot = self.consent.slot
        if slot is not None and turn - 1 in slot.read_back_in and yes_or_no(utterance) is False:
            self.desk.declined()

    def _agreed(self, change: Change, *, turn: int, utterance: str) -> str | None:
        """The desk's rule on every field: what the caller heard in the answer before their
        yes must name all of the change."""
        return self.desk.agree(change, heard=self.consent.heard_in(turn - 1), utterance=utterance)

    # -- People, messages, questions, the end ------------------------------------------

    async def transfer_to_person(self, args: dict, **_: Any) -> dict[str, Any]:
        words = self.desk.transfer()
        if words is None:
            return _error(
                "Nobody is available to take the call. Offer to take a message (take_message)."
            )
        self._end(words)
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
        self._end(self.desk.take_message(message, name=name))
        return {
            "message_taken": True,
            "next": "Tell the caller the message will be passed on and say goodbye. The call "
            "ends after your answer.",
        }

    async def business_info(self, args: dict, **_: Any) -> dict[str, Any]:
        try:
            topic = Question(str(args.get("topic")))
        except ValueError:
            return _error(f"topic must be one of {', '.join(q.value for q in Question)}.")
        service = None
        if args.get("service"):
            service = read_service(args.get("service"), self.context.services)
            if service is None:
                return self._unknown_service(args.get("service"))
        when = None
        if args.get("day"):
            reading = read_start(args.get("day"), schedule=self.schedule, today=self._today())
            if reading.day is not None:
                when = WhenParse(day=reading.day)
        answer = await self.desk.answer(topic, service=service, when=when)
        return {"say": answer, "next": "Say this, then go back to what the caller was doing."}

    async def end_call(self, args: dict, **_: Any) -> dict[str, Any]:
        if self.ending is None:
            self._end(self.desk.goodbye())
        return {"ending": True, "next": "Say goodbye. The call ends after your answer."}

    # -- Helpers -------------------------------------------------------------------------

    def _end(self, closing_words: str) -> None:
        self.ending = self.desk.ending
        self.closing_words = closing_words

    def _refusal(
        self,
        reason: Refusal | None,
        start: datetime,
        alternatives: list[datetime],
        service: Service,
    ) -> dict[str, Any]:
        if reason == Refusal.UNAVAILABLE:
            return _unavailable()
        offers = sorted(a.astimezone(self.schedule.tz) for a in alternatives)[:OFFER_COUNT]
        explanation = self.desk.explain(reason, start, service)
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
            f"We don't offer {asked!r}. Tell the caller so. The services are: "
            f"{offered or 'none'}. Ask the caller which of these they would like."
        )

    def _found(self, raw: object) -> Booking | None:
        try:
            return self.found.get(int(raw))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def _today(self) -> date:
        return self.context.clock().astimezone(self.schedule.tz).date()


def _unavailable() -> dict[str, Any]:
    """The booking calendar that owns the bookings can't be reached: nothing can be booked."""
    return {
        "available": False,
        "reason": Refusal.UNAVAILABLE.value,
        "explanation": UNAVAILABLE_WORDS,
        "alternatives": [],
        "next": "Tell the caller honestly, offer no other time, and offer to take a message "
        "so someone can call them back.",
    }


def _changed(done: Done, key: str) -> dict[str, Any]:
    """Staff changed the booking since it was read back: nothing was written."""
    return {
        key: False,
        "reason": Refusal.CHANGED.value,
        "explanation": done.explanation,
        "next": "Tell the caller, in those words, what the booking is now and that nothing was "
        "changed, and ask what they would like to do. Call find_my_booking again before any "
        "other change to it.",
    }
