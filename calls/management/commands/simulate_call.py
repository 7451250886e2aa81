"""`manage.py simulate_call <slug>`: talk to a business's receptionist from the terminal.

The same `CallSession` a phone call runs (channel "simulator"), with the terminal as its
transport. Lines typed (or piped) are what the caller says; the call stops when the
receptionist ends it, on "quit", or at the end of the input.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from bookings.models import Business
from calls.models import Call
from calls.session import CallSession
from calls.simulator.access import real_bookings_of
from calls.simulator.identity import fresh_test_number, new_call_sid
from calls.simulator.records import call_summary

QUIT_WORDS = frozenset({"quit", "exit"})


class TerminalTransport:
    """Prints the receptionist's answers as they stream."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out
        self.speaking = False
        self.handoff: dict[str, str] | None = None

    def say(self, text: str) -> None:
        self.out.write(f"Receptionist: {text}")

    async def send_text(self, token: str, last: bool) -> None:
        if not self.speaking:
            self.out.write("Receptionist: ", ending="")
            self.speaking = True
            token = token.lstrip()
        self.out.write(token, ending="")
        if last:
            self.out.write("")
            self.speaking = False
        self.out.flush()

    async def end(self, handoff_data: dict[str, str]) -> None:
        self.handoff = handoff_data


class Command(BaseCommand):
    help = "Talk to a business's receptionist from the terminal, as a caller would."
    stealth_options = ("stdin",)

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="The business's slug, e.g. demo.")
        parser.add_argument(
            "--caller",
            default="",
            help="Caller ID to present (E.164). Default: a fresh test number for this call.",
        )
        parser.add_argument(
            "--as-customer",
            action="store_true",
            help="Call from a real customer's number on purpose: the receptionist may move or "
            "cancel their bookings and text that number.",
        )

    def handle(self, *args, slug: str, caller: str, as_customer: bool, **options) -> None:
        caller = caller or fresh_test_number()
        if not Business.objects.filter(slug=slug, is_active=True).exists():
            known = ", ".join(
                Business.objects.filter(is_active=True).values_list("slug", flat=True)
            )
            raise CommandError(f"No active business {slug!r}. Active: {known or 'none'}.")
        # As in the simulator page: a real customer's number only on purpose.
        bookings = 0 if as_customer else real_bookings_of(slug=slug, caller=caller)
        if bookings:
            raise CommandError(
                f"{caller} is a real customer's number ({bookings} upcoming booking"
                f"{'s' if bookings > 1 else ''}): the receptionist could move or cancel them "
                "and text that number. Use a test number, or add --as-customer to go ahead."
            )
        stdin = options.get("stdin") or sys.stdin
        transport = TerminalTransport(self.stdout)
        # The conversation runs on its own event loop; the ORM work inside the session goes
        # through bookings.orm's helpers, and ours waits until the loop is done.
        call_id = asyncio.run(self.converse(slug, caller, stdin, transport))
        if call_id is None:
            raise CommandError("The receptionist did not take the call.")
        self.report(call_summary(call_id), transport.handoff)

    async def converse(
        self, slug: str, caller: str, stdin: TextIO, transport: TerminalTransport
    ) -> int | None:
        session = CallSession(
            business_slug=slug,
            call_sid=new_call_sid(),
            transport=transport,
            channel=Call.Channel.SIMULATOR,
        )
        interactive = stdin.isatty()
        try:
            if not await session.start(caller_number=caller):
                return None
            transport.say(session.greeting)
            while not session.ended:
                if interactive:
                    self.stdout.write("Caller: ", ending="")
                    self.stdout.flush()
                line = await asyncio.to_thread(stdin.readline)
                if not line:  # end of input: the caller hung up
                    if interactive:
                        self.stdout.write("")
                    break
                said = line.strip()
                if said.lower() in QUIT_WORDS:
                    break
                if not said:
                    continue
                if not interactive:
                    self.stdout.write(f"Caller: {said}")  # piped: keep the transcript readable
                await session.handle_prompt(said)
                await session.wait_for_answer()
        finally:
            await session.close()
        return session.call_id

    def report(self, summary: dict, handoff: dict[str, str] | None) -> None:
        self.stdout.write("")
        ending = f"Call ended: {summary['outcome']}"
        if handoff and handoff.get("transferTo"):
            ending += f" (put through to {handoff['transferTo']})"
        self.stdout.write(ending)
        booking = summary["booking"]
        if booking:
            self.stdout.write(
                f"Booking: {booking['service']} for {booking['name']} ({booking['phone']}) "
                f"on {booking['date']} at {booking['time']} {booking['timezone']} "
                f"[{booking['status']}]"
            )
            self.stdout.write(f"  {settings.PUBLIC_BASE_URL}{booking['admin_url']}")
        self.stdout.write(f"Call: {settings.PUBLIC_BASE_URL}{summary['call_admin_url']}")
