"""What a caller's answer to offered times means: one of them, "which?" again among a few, or
none of them.

After "I can do tomorrow at noon, 12:30 PM or 1 PM. Which would you like?" callers say "the
first one", "the later one", "the 12:30 one", "the Thursday one", "yeah that's fine", "none of
those work" or "neither". A yes picks the offer only when there was one; with several it is
asked about again among them, never guessed. A time or day that fits no offer is not an answer
here: the engine reads it as a new request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from calls.understanding.intents import _normalise, pick_ordinal
from calls.understanding.utterance import Heard
from calls.understanding.when import WhenParse, parse_when


@dataclass(frozen=True)
class OfferAnswer:
    picked: datetime | None = None  # the offer taken
    among: tuple[datetime, ...] = ()  # several fit ("yes", "the 9 o'clock one"): ask which
    none: bool = False  # "none of those work", "neither"


_NONE = re.compile(
    r"\b(?:none|neither|nothing)(?: of (?:those|them|these|the \w+))?"
    r"(?: (?:work|works|suit|suits|fit|fits|is any good|are any good|good|are good))?\b"
    r"|\b(?:those|they|them|these) (?:dont|wont|do not|will not) (?:work|suit|do)\b"
    r"|\bnot any of (?:those|them|these)\b|\bno good\b"
)
# "The 12:30 one", "the Thursday one", "the one at 12:30", "that 9 o'clock one": the "one" is
# the offer, not 1 o'clock.
_THE_ONE = re.compile(
    r"\b(?:the|that|this)\s+(?P<what>[^,.;!?]*?)\s*\bones?\b(?!\s*(?:o ?clock|thirty|fifteen|"
    r"forty|[ap]\.?m\b))(?P<rest>[^,.;!?]*)",
    re.IGNORECASE,
)


def answer_to_offers(
    text: str, heard: Heard, offers: list[datetime], *, today: date
) -> OfferAnswer | None:
    """The caller's answer to `offers` (local, in the order said), or None when what they said
    is not about the offers (a new day or time, a question, a name)."""
    if not offers:
        return None
    index = pick_ordinal(text, len(offers))
    if index is not None:
        return OfferAnswer(picked=offers[index])
    when = _when_of_choice(text, today) or heard.when
    # "A bit later", "half an hour earlier": relative to the offers, read elsewhere.
    relative = when.shift is not None or when.nudge or when.soonest
    if not relative and not when.is_empty:
        fitting = _fitting(when, offers)
        if len(fitting) == 1:
            return OfferAnswer(picked=fitting[0])
        if len(fitting) > 1:
            return OfferAnswer(among=tuple(fitting))
        return None
    if _NONE.search(_normalise(text)) or (heard.yes is False and not heard.has_booking_details):
        return OfferAnswer(none=True)
    if heard.yes is True and not heard.has_booking_details:
        if len(offers) == 1:
            return OfferAnswer(picked=offers[0])
        return OfferAnswer(among=tuple(offers))
    return None


def when_without_one(text: str, when: WhenParse, *, today: date) -> WhenParse:
    """`when` as heard, except that in "the 10:45 one" or "yup that's the one" the "one" is an
    offer, not 1 o'clock: the day or time is read without it (nothing, for "the first one")."""
    match = _THE_ONE.search(text)
    if match is None or when.time is None:
        return when
    return _when_of_choice(text, today) or WhenParse()


def _when_of_choice(text: str, today: date) -> WhenParse | None:
    """The day or time in "the 12:30 one" / "the one on Thursday", read without its "one"."""
    match = _THE_ONE.search(text)
    if match is None:
        return None
    said = f"{match['what']} {match['rest']}".strip()
    if not said:
        return None
    when = parse_when(said, today=today, expecting_time=True)
    return None if when.is_empty else when


def _fitting(when: WhenParse, offers: list[datetime]) -> list[datetime]:
    """The offers on the day and at the time said (either may be missing; a weekday said
    also fits an offer on a later such weekday, "the Thursday one" for next week's)."""
    fitting = list(offers)
    if when.day is not None:
        same = [o for o in fitting if o.date() == when.day]
        fitting = same or [o for o in fitting if o.weekday() == when.day.weekday()]
    elif when.days is not None:
        first, last = when.days
        fitting = [o for o in fitting if first <= o.date() <= last]
    if when.time is not None:
        fitting = [o for o in fitting if _same_clock(o.time(), when.time, when.ampm_explicit)]
    elif when.window is not None:
        low, high = when.window
        fitting = [o for o in fitting if low <= o.time() < high]
    return fitting


def _same_clock(offered: time, said: time, explicit: bool) -> bool:
    if explicit:
        return offered.replace(second=0, microsecond=0) == said
    return offered.hour % 12 == said.hour % 12 and offered.minute == said.minute
