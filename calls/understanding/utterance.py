"""Everything one caller utterance says, read at once: the engine's single entry point.

Slots come in any order and in one breath ("Hi, this is Maria, can I get a haircut tomorrow
at 3?"), so every extractor reads every utterance; what the receptionist just asked only
loosens the rules for bare answers (a lone "3" is a time, a lone "Maria" is a name).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, time

from calls.understanding.intents import Intent, detect_intents, yes_or_no
from calls.understanding.names import extract_name
from calls.understanding.phones import find_phone
from calls.understanding.services import ServiceMatch, ServiceName, service_options
from calls.understanding.when import WhenParse, parse_when


class Expecting(enum.StrEnum):
    """What the receptionist's last question asked for."""

    NOTHING = "nothing"
    SERVICE = "service"
    WHEN = "when"
    TIME = "time"
    NAME = "name"
    PHONE = "phone"
    YES_NO = "yes_no"
    CHOICE = "choice"


@dataclass(frozen=True)
class Heard:
    service: ServiceMatch | None = None
    when: WhenParse = field(default_factory=WhenParse)
    name: str | None = None
    phone: str | None = None  # E.164
    intents: frozenset[Intent] = frozenset()
    yes: bool | None = None  # True yes, False no, None neither
    # A word that fits several services ("a trim": haircut or beard trim); `service` is None.
    service_options: tuple[ServiceMatch, ...] = ()

    @property
    def has_booking_details(self) -> bool:
        return bool(
            self.service
            or self.service_options
            or not self.when.is_empty
            or self.name
            or self.phone
        )


# A spoken turn is a sentence or a few: a minute of speech is about 1,000 characters. A longer
# prompt is not speech (a stuck transcriber, someone feeding the socket), and reading all of it
# would only take the process's time from every other call.
MAX_UTTERANCE_CHARS = 1000


def understood_part(text: str) -> str:
    """The part of an utterance that is read: all of it, up to MAX_UTTERANCE_CHARS (cut at a
    space when there is one in the last half)."""
    if len(text) <= MAX_UTTERANCE_CHARS:
        return text
    cut = text[:MAX_UTTERANCE_CHARS]
    space = cut.rfind(" ")
    return cut[:space] if space > MAX_UTTERANCE_CHARS // 2 else cut


def hear(
    text: str,
    *,
    today: date,
    services: Sequence[ServiceName],
    expecting: Expecting = Expecting.NOTHING,
    region: str = "US",
    now: time | None = None,
) -> Heard:
    """`now`: the business's local time of day, so "in 45 minutes" can be worked out."""
    text = understood_part(text)
    found = find_phone(text, region=region)
    phone = found[0] if found else None
    # The words of a phone number are not a time ("five oh one" is not 5:01).
    when_text = text if found is None else f"{text[: found[1]]}, {text[found[2] :]}"
    expecting_time = expecting in (Expecting.TIME, Expecting.CHOICE)
    when = parse_when(when_text, today=today, expecting_time=expecting_time, now=now)
    options = service_options(text, services)
    service = options[0] if len(options) == 1 else None
    return Heard(
        service=service,
        when=when,
        name=extract_name(
            text,
            expecting_name=expecting == Expecting.NAME,
            after_request=bool(options) or not when.is_empty,
        ),
        phone=phone,
        intents=frozenset(detect_intents(text)),
        yes=yes_or_no(text),
        service_options=tuple(options) if len(options) > 1 else (),
    )
