"""Drive a dialogue engine like a caller would, without a socket."""

from __future__ import annotations

from datetime import datetime

from asgiref.sync import sync_to_async
from django.core.management import call_command

from bookings.models import Business
from bookings.providers.registry import resolve_provider
from calls.dialogue.base import CallContext
from calls.dialogue.registry import engine_class

CALLER = "+15555550123"


@sync_to_async
def demo_business() -> Business:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return Business.objects.get(slug="demo")


@sync_to_async
def context_for(business: Business, caller: str = CALLER, sid: str = "CAtest") -> CallContext:
    business.refresh_from_db()
    return CallContext(
        call_sid=sid,
        business=business,
        services=list(business.services.filter(is_active=True)),
        provider=resolve_provider(business),
        caller_number=caller,
    )


class Conversation:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.transcript: list[tuple[str, str]] = []

    @classmethod
    async def start(cls, business: Business, *, engine: str = "embedded", caller: str = CALLER):
        context = await context_for(business, caller)
        return cls(engine_class(engine)(context))

    async def say(self, utterance: str) -> str:
        pieces = [piece async for piece in self.engine.respond(utterance)]
        answer = "".join(pieces)
        self.transcript += [("caller", utterance), ("receptionist", answer)]
        return answer

    @property
    def ended(self) -> bool:
        return self.engine.ending is not None

    def __str__(self) -> str:
        return "\n".join(f"{who:>12}: {text}" for who, text in self.transcript)


def local(business: Business, *args) -> datetime:
    return datetime(*args, tzinfo=business.tz)
