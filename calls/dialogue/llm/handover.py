"""Handing a call to the embedded receptionist when the model fails mid-call.

The caller should not have to start again: what the tools gathered (service, the time asked
for, name, phone) is passed on. The embedded receptionist checks the time again and reads the
booking back before it books anything, so a yes given to the model is never reused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from calls.dialogue.embedded import EmbeddedEngine
from calls.understanding.intents import Intent
from calls.understanding.names import extract_name
from calls.understanding.phones import find_phone
from calls.understanding.services import ServiceName
from calls.understanding.utterance import hear

if TYPE_CHECKING:
    from bookings.models import Service
    from calls.dialogue.base import CallContext, EngineState

logger = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side. Could you say that again?"


@dataclass
class Gathered:
    """What the call has established so far, whichever engine gathered it."""

    service: Service | None = None
    start: datetime | None = None  # the time asked for (checked or not)
    name: str | None = None
    phone: str | None = None  # E.164
    phone_confirmed: bool = False  # the caller gave it (not just the caller ID)

    def copy(self) -> Gathered:
        return replace(self)


async def take_over(
    *,
    context: CallContext,
    state: EngineState,
    utterance: str,
    before_turn: Gathered,
    now: Gathered,
    earlier_words: list[str],
) -> tuple[EmbeddedEngine, str]:
    """An embedded engine for the rest of the call, and its answer to this turn.

    When this utterance says something the embedded engine can act on ("make it 4", "a
    person please"), it hears it on top of what was gathered before this turn; otherwise (a
    bare "yes", a pause) it asks its next question from what has been gathered so far."""
    engine = EmbeddedEngine(context)
    engine.state = state  # one record of the call, whichever engine speaks
    names = [ServiceName(id=s.pk, name=s.name, synonyms=s.synonym_list) for s in context.services]
    # The call's own clock, as the embedded engine reads it: "in an hour" counts from now.
    local_now = context.clock().astimezone(context.business.tz)
    heard = hear(utterance, today=local_now.date(), services=names, now=local_now.time())
    acts_on_it = heard.has_booking_details or bool(heard.intents - {Intent.REPEAT})
    gathered = before_turn if acts_on_it else now
    name = gathered.name or _name_in(earlier_words if acts_on_it else [*earlier_words, utterance])
    phone, confirmed = gathered.phone, gathered.phone_confirmed
    if not confirmed:
        spoken = _phone_in(earlier_words if acts_on_it else [*earlier_words, utterance])
        if spoken:
            phone, confirmed = spoken, True
    engine.seed(
        service=gathered.service,
        start=gathered.start,
        name=name,
        phone=phone,
        phone_confirmed=confirmed,
    )
    try:
        if acts_on_it:
            answer = "".join([piece async for piece in engine.respond(utterance)])
        else:
            answer = await engine.resume()
    except Exception:
        logger.exception("Call %s: the embedded engine could not take over", context.call_sid)
        state.events.append(("engine_error", "the embedded engine failed to take over"))
        answer = SORRY
    return engine, answer


def _name_in(words: list[str]) -> str | None:
    for text in reversed(words):
        name = extract_name(text)
        if name:
            return name
    return None


def _phone_in(words: list[str]) -> str | None:
    for text in reversed(words):
        found = find_phone(text)
        if found:
            return found[0]
    return None
