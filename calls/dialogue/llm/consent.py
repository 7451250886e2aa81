"""The rule that makes the model safe to let talk: nothing is booked, moved or cancelled unless
the caller heard it read back and then said yes.

Enforced on what actually happened on the line, not on what the model claims:
- a *proposal* is made by our tools only: availability accepting a slot (for a booking or a
  move) or find_my_booking finding a booking (for a cancellation). A new availability check
  replaces the slot proposal, so only the slot just accepted can be booked;
- it is *read back* when text the caller heard after the proposal names its day and time the
  way calls.dialogue.speech says them ("Thursday, November 26th" or "tomorrow", and "3 PM").
  An interrupt that cut the answer before those words withdraws the read-back;
- it is *agreed* when the caller's latest utterance, in a later turn than the read-back,
  reads as yes (calls.understanding.intents.yes_or_no).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from calls.dialogue.speech import ordinal, say_date, say_day, say_slot, say_time
from calls.understanding.intents import yes_or_no


def _plain(text: str) -> str:
    """Lower case, no dots or commas, single spaces: "3 p.m." and "3 PM" both read "3 pm"."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"(?<=\w)\.", "", text)
    text = re.sub(r"[,;:!?](?!\d)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Proposal:
    key: tuple  # ("slot", service_id, start) or ("cancel", booking_id)
    moment: datetime  # local
    after: int  # only text spoken from this serial on can read it back
    words: str  # how to say it
    read_back_turn: int | None = None

    def said_in(self, text: str, today: date) -> bool:
        plain = _plain(text)
        clock = _plain(say_time(self.moment))
        if not re.search(rf"(?<![\w:]){re.escape(clock)}(?!\w)", plain):
            return False
        day = self.moment.date()
        days = {say_date(day), say_day(day, today), f"{day:%B} {ordinal(day.day)}"}
        return any(re.search(rf"\b{re.escape(_plain(d))}\b", plain) for d in days)


@dataclass(frozen=True)
class Spoken:
    serial: int
    text: str


class Consent:
    def __init__(self) -> None:
        self.slot: Proposal | None = None
        self.cancels: dict[int, Proposal] = {}

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
        for proposal in self._proposals():
            if proposal.read_back_turn == turn:
                proposal.read_back_turn = None
            if proposal.read_back_turn is not None:
                continue  # read back in an earlier turn, and that still stands
            if any(s.serial >= proposal.after and proposal.said_in(s.text, today) for s in spoken):
                proposal.read_back_turn = turn

    # -- The rule ------------------------------------------------------------------------

    def refusal(
        self, proposal: Proposal | None, *, key: tuple, turn: int, utterance: str, action: str
    ) -> str | None:
        """None when `action` may go ahead; otherwise what the model must do first."""
        if proposal is None or proposal.key != key:
            if key[0] == "slot":
                return (
                    "That time has not just been checked. Call check_availability for it first; "
                    "only the time it last accepted can be booked."
                )
            return "That booking was not found for this caller. Call find_my_booking first."
        if proposal.read_back_turn is None:
            return (
                f"Not done: the caller has not heard it read back. Say it to them with these "
                f"words for the time: {proposal.words!r}, ask them to confirm, and {action} "
                "only after they say yes."
            )
        if proposal.read_back_turn >= turn:
            return (
                "Not done: you read it back in this answer, so the caller has not answered yet. "
                f"Ask them to confirm and wait for their yes before you {action}."
            )
        if yes_or_no(utterance) is not True:
            return (
                f"Not done: the caller's last words ({utterance!r}) are not a clear yes. Ask "
                f"them to confirm, and {action} only after they say yes."
            )
        return None

    def _proposals(self) -> list[Proposal]:
        return [p for p in (self.slot, *self.cancels.values()) if p is not None]
