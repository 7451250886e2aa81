"""The rule that makes the model safe to let talk: nothing is booked, moved or cancelled unless
the caller heard it read back and then said yes.

Enforced on what actually happened on the line, not on what the model claims:
- a *proposal* is made by our tools only: availability accepting a slot (for a booking or a
  move) or find_my_booking finding a booking (for a cancellation). A new availability check
  replaces the slot proposal, so only the slot just accepted can be booked;
- it is *read back* when text the caller heard after the proposal names its day and time the
  way calls.dialogue.speech says them ("Thursday, November 26th" or "tomorrow", and "3 PM").
  An interrupt that cut the answer before those words withdraws the read-back. An answer
  that names several of the caller's bookings (find_my_booking listing them) reads back none
  of them: a cancellation is agreed to one booking at a time;
- it is *agreed* only by the caller's very next utterance after a read-back, when that reads
  as yes (calls.understanding.intents.yes_or_no). Anything else the caller says first ("no",
  a question, silence) withdraws that read-back: a yes later in the call may answer
  something else entirely, so the change needs a new read-back.
On top of this, the desk checks every field of the change against what was heard
(calls.dialogue.consent): `heard_in(turn)` is the answer of that turn as the caller heard it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from calls.dialogue.consent import names_moment
from calls.dialogue.speech import say_slot
from calls.understanding.intents import yes_or_no


@dataclass
class Proposal:
    key: tuple  # ("slot", service_id, start) or ("cancel", booking_id)
    moment: datetime  # local
    after: int  # only text spoken from this serial on can read it back
    words: str  # how to say it
    # The caller turns whose answer read it back (as heard). Only the latest counts, and only
    # for the caller's next turn.
    read_back_in: set[int] = field(default_factory=set)

    @property
    def is_cancel(self) -> bool:
        return self.key[0] == "cancel"

    def heard_in(self, spoken: list[Spoken], today: date) -> bool:
        return any(s.serial >= self.after and self.said_in(s.text, today) for s in spoken)

    def said_in(self, text: str, today: date) -> bool:
        return names_moment(text, self.moment, today)


@dataclass(frozen=True)
class Spoken:
    serial: int
    text: str


class Consent:
    def __init__(self) -> None:
        self.slot: Proposal | None = None
        self.cancels: dict[int, Proposal] = {}
        self._heard: dict[int, str] = {}  # caller turn -> our answer in it, as heard

    # -- Proposals (made by the tools) -----------------------------------------------

    def propose_slot(
        self, *, service_id: int, start: datetime, after: int, today: date
    ) -> Proposal:
        self.slot = Proposal(
            key=("slot", service_id, start),
            moment=start,
            after=after,
            words=say_slot(start, today, full=True),
        )
        return self.slot

    def withdraw_slot(self) -> None:
        self.slot = None

    def propose_cancel(
        self, *, booking_id: int, start: datetime, after: int, today: date
    ) -> Proposal:
        proposal = Proposal(
            key=("cancel", booking_id),
            moment=start,
            after=after,
            words=say_slot(start, today, full=True),
        )
        self.cancels[booking_id] = proposal
        return proposal

    # -- What the caller heard ---------------------------------------------------------

    def review(self, *, turn: int, spoken: Iterable[Spoken], today: date) -> None:
        """Re-read what the caller heard in this turn (at its end, and again after an
        interrupt cut it): which proposals were read back in it."""
        spoken = list(spoken)
        self._heard[turn] = " ".join(s.text for s in spoken)
        proposals = self._proposals()
        named = [p for p in proposals if p.heard_in(spoken, today)]
        # Several bookings named in one answer ("a haircut on Friday at 11 AM and a colour on
        # Monday at 2 PM") is a list, not a read-back: a yes to it says which one to no one.
        listed = sum(1 for p in named if p.is_cancel) > 1
        for proposal in proposals:
            proposal.read_back_in.discard(turn)
            if any(p is proposal for p in named) and not (listed and proposal.is_cancel):
                proposal.read_back_in.add(turn)

    def heard_in(self, turn: int) -> str:
        return self._heard.get(turn, "")

    # -- The rule ------------------------------------------------------------------------

    def refusal(
        self, proposal: Proposal | None, *, key: tuple, turn: int, utterance: str, action: str
    ) -> str | None:
        """None when `action` may go ahead; otherwise what the model must do first.

        It may go ahead only in the caller turn right after a read-back of this very proposal,
        and only if what the caller said in it reads as yes. (Said again in the answer that
        acts on that yes, the read-back still counts: the caller agreed before it.)"""
        if proposal is None or proposal.key != key:
            if key[0] == "slot":
                return (
                    "That time has not just been checked. Call check_availability for it first; "
                    "only the time it last accepted can be booked."
                )
            return "That booking was not found for this caller. Call find_my_booking first."
        how = f"with these words for the time: {proposal.words!r}" + (
            " (that booking alone, not in a list of bookings)" if proposal.is_cancel else ""
        )
        answered = turn - 1 in proposal.read_back_in
        if answered and yes_or_no(utterance) is True:
            return None
        if turn in proposal.read_back_in:
            return (
                "Not done: you read it back in this answer, so the caller has not answered yet. "
                f"Ask them to confirm and wait for their yes before you {action}."
            )
        if answered:
            return (
                f"Not done: the caller's last words ({utterance!r}) are not a clear yes to the "
                "read-back, so it no longer counts. If they still want it, read it back again "
                f"{how}, ask them to confirm, and {action} only if their very next words are a "
                "yes."
            )
        if proposal.read_back_in:
            return (
                f"Not done: the caller has said other things since it was read back, so their "
                f"words ({utterance!r}) do not answer it. Read it back again {how}, ask them "
                f"to confirm, and {action} only if their very next words are a yes."
            )
        return (
            f"Not done: the caller has not heard it read back. Say it to them {how}, ask them "
            f"to confirm, and {action} only after they say yes."
        )

    def refusal_to_move(
        self, *, booking_id: int, service_id: int, start: datetime, turn: int, utterance: str
    ) -> str | None:
        """A move changes two things the caller must have heard in the read-back they said yes
        to: the new time (the slot just accepted) and which booking moves (named alone)."""
        moving = self.cancels.get(booking_id)
        if moving is None:
            return "That booking was not found for this caller. Call find_my_booking first."
        action = "call move_booking"
        refusal = self.refusal(
            self.slot,
            key=("slot", service_id, start),
            turn=turn,
            utterance=utterance,
            action=action,
        )
        if refusal is None and turn - 1 not in moving.read_back_in:
            slot = self.slot.words if self.slot else ""
            return (
                "Not done: the caller did not hear which booking moves. Read back the booking "
                f"being moved ({moving.words!r}, that booking alone) and the new time "
                f"({slot!r}) together, ask them to confirm, and {action} only if their very "
                "next words are a yes."
            )
        return refusal

    def _proposals(self) -> list[Proposal]:
        return [p for p in (self.slot, *self.cancels.values()) if p is not None]
