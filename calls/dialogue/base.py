"""The dialogue-engine contract.

An engine runs one call's conversation. The call session (calls/session.py) owns the
transport (ConversationRelay, the simulator socket, the terminal) and drives the engine:
it feeds each final caller utterance to `respond()` and streams the text pieces the engine
yields to the caller; after each turn it looks at `ending` to know whether to hang up.
Engines never touch sockets and never raise to the session for caller input: whatever the
caller says gets a speakable answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from django.utils import timezone

if TYPE_CHECKING:
    from bookings.models import Business, Service
    from bookings.providers.base import BookingProvider
    from bookings.slots import Schedule


@dataclass
class CallContext:
    """What an engine knows about its call; built once when the call starts."""

    call_sid: str
    business: Business
    services: list[Service]  # active services, loaded up front
    provider: BookingProvider
    caller_number: str = ""  # E.164 caller ID from setup.from ("" when withheld)
    clock: Callable[[], datetime] = timezone.now  # injectable for tests
    # The business's schedule as the call found it (opening hours don't change mid-call;
    # the booking itself checks the current rules); None: the engine loads it.
    schedule: Schedule | None = None


@dataclass
class Ending:
    """How the call should end once the current answer has been spoken."""

    reason: str  # "booked", "cancelled", "moved", "goodbye", "transfer", "message", "limit"
    transfer_to: str = ""  # E.164, only for reason "transfer"

    def handoff_data(self) -> dict[str, str]:
        data = {"reason": self.reason}
        if self.transfer_to:
            data["transferTo"] = self.transfer_to
        return data


@dataclass
class EngineState:
    """What the session persists on the Call when the conversation ends."""

    outcome: str = "in_progress"  # a calls.models.Call.Outcome value
    booking_id: int | None = None
    message: str = ""
    events: list[tuple[str, str]] = field(default_factory=list)  # (event, detail)


class DialogueEngine:
    """Base class. Subclasses set `name` and `label` and implement `respond`."""

    name: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, context: CallContext) -> None:
        self.context = context
        self.state = EngineState()
        self.ending: Ending | None = None

    # -- Methods that child classes must implement -------------------------------------

    def respond(self, utterance: str) -> AsyncIterator[str]:
        """Answer one final caller utterance: an async iterator of speakable text pieces
        (any size; the session cuts them into clauses). Sets `self.ending` when the call
        should end after this answer. Must not raise for any caller input."""
        raise NotImplementedError

    # -- Methods with a sensible default -----------------------------------------------

    def heard(self, spoken: str) -> None:
        """The caller interrupted the last answer: only `spoken` was heard. Engines that
        keep a history cut their last turn down to it."""

    def respond_to_digits(self, digits: str) -> AsyncIterator[str]:
        """Keypad input (DTMF), collected by the session until '#' or a pause."""
        return self.respond(digits)

    def wrap_up(self, why: str) -> str:
        """What to say when the session must end the call (time or turn limit)."""
        transfer = self.context.business.transfer_number
        self.ending = Ending(reason="limit", transfer_to=transfer)
        if transfer:
            return "I'm sorry, I'll put you through to a member of the team now."
        return "I'm sorry, we've run out of time. Please call back or we'll call you. Goodbye."
