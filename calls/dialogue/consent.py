"""Consent on every field, for both receptionists: a change is written only for exactly what
the caller heard read back, and only when their very next words are a yes.

A `Change` is what would be written (a booking, a move or a cancellation). `unheard()` says
which of its fields the words the caller heard do not name: the service, the local day and
time, the name, the phone number when it is not the caller ID (as its digits), and for a move
or cancellation the booking it acts on. Both engines ask the desk, which asks this module; the
LLM engine additionally keeps its proposals (calls.dialogue.llm.consent) so that only the slot
its tools just checked can be booked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from calls.dialogue.speech import ordinal, say_date, say_day, say_time
from calls.understanding.intents import yes_or_no
from calls.understanding.phones import extract_phone, find_phone

if TYPE_CHECKING:
    from bookings.models import Booking, Service


def plain(text: str) -> str:
    """Lower case, no dots or commas, single spaces: "3 p.m." and "3 PM" both read "3 pm"."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"(?<=\w)\.", "", text)
    text = re.sub(r"[,;:!?](?!\d)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def names_moment(text: str, moment: datetime, today: date) -> bool:
    """The words name this local day and time the way calls.dialogue.speech says them."""
    words = plain(text)
    clock = plain(say_time(moment))
    if not re.search(rf"(?<![\w:]){re.escape(clock)}(?!\w)", words):
        return False
    day = moment.date()
    days = {say_date(day), say_day(day, today), f"{day:%B} {ordinal(day.day)}"}
    return any(re.search(rf"\b{re.escape(plain(d))}\b", words) for d in days)


def names_service(text: str, service: Service) -> bool:
    words = plain(text)
    terms = [service.name, *service.synonym_list]
    return any(re.search(rf"\b{re.escape(plain(term))}\b", words) for term in terms if term)


def names_person(text: str, name: str) -> bool:
    words = plain(text)
    return all(re.search(rf"\b{re.escape(part)}\b", words) for part in plain(name).split())


def names_phone(text: str, phone: str) -> bool:
    """The number's national digits said in order (spaces, commas, dashes between them)."""
    national = re.sub(r"\D", "", phone)[-10:]
    runs = re.findall(r"\d[\d\s,.\-()]*\d", text)
    return any(re.sub(r"\D", "", run).endswith(national) for run in runs)


@dataclass(frozen=True)
class Change:
    """Exactly what a yes would write."""

    action: str  # "book", "move" or "cancel"
    service: Service
    start: datetime  # local; for a cancellation, the booking's own start
    name: str = ""
    phone: str = ""  # E.164
    booking: Booking | None = None  # the booking moved or cancelled
    # Cancellations agreed to with the same yes ("cancel both"): each must be read back too.
    together: tuple[Change, ...] = ()
    # Booked by the caller for another person ("it's for my daughter, Mia"): the confirmation
    # speaks to the caller about Mia's booking, not to Mia.
    for_someone_else: bool = False
    # "I don't have a mobile": booked under the number they call from, and no text is sent.
    no_text: bool = False

    @property
    def bookings(self) -> list[Booking]:
        return [c.booking for c in (self, *self.together) if c.booking is not None]

    def unheard(self, text: str, *, caller_id: str, today: date) -> list[str]:
        """The fields these words do not name (empty: all of it was read back)."""
        missing = []
        for other in self.together:
            missing += other.unheard(text, caller_id=caller_id, today=today)
        if not names_service(text, self.service):
            missing.append("the service")
        if not names_moment(text, self.start, today):
            missing.append("the day and time")
        if self.booking is not None and self.action == "move":
            old = self.booking.start.astimezone(self.start.tzinfo)
            if not names_moment(text, old, today):
                missing.append("the booking being moved (its day and time)")
        if self.action == "book":
            if not self.name or not names_person(text, self.name):
                missing.append("the name")
            if self.phone and self.phone != caller_id and not names_phone(text, self.phone):
                missing.append("the phone number, digit by digit")
            if self.no_text and not re.search(r"\bno text\b", text, re.IGNORECASE):
                missing.append("that no text will be sent")
        return missing


def agreed(
    change: Change, *, heard: str, utterance: str, caller_id: str, today: date
) -> str | None:
    """None when the caller heard all of `change` in `heard` (the answer just before) and now
    said yes; otherwise why not, in words for the model (the embedded engine only branches)."""
    missing = change.unheard(heard, caller_id=caller_id, today=today)
    if missing:
        return (
            f"Not done: the read-back the caller heard did not name {', '.join(missing)}. "
            "Read back everything that will be written, ask them to confirm, and act only if "
            "their very next words are a yes."
        )
    if yes_or_no(utterance) is not True:
        return (
            f"Not done: the caller's words ({utterance!r}) are not a clear yes to the read-back. "
            "If they still want it, read it back again and wait for a yes."
        )
    return None


def phone_was_given(phone: str, *, caller_id: str, caller_words: list[str]) -> bool:
    """A number is the caller ID or one the caller said: no engine invents one."""
    if phone == caller_id:
        return True
    for words in caller_words:
        if extract_phone(words) == phone:
            return True
        found = find_phone(words)
        if found and found[0] == phone:
            return True
        if names_phone(words, phone):
            return True
    return False
