"""The call's record under many calls at once: transcripts written together, outcomes kept."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from calls.models import Call, CallTurn
from calls.tests.test_session import call_row, make_session, transcript

pytestmark = pytest.mark.django_db(transaction=True)


async def test_calls_talking_at_once_each_get_their_own_transcript_in_order(salon):
    sessions = [await make_session(salon, sid=f"CAmany{n}") for n in range(12)]
    for round_ in range(3):
        prompts = [
            session.handle_prompt(f"caller {n} round {round_}")
            for n, (session, _) in enumerate(sessions)
        ]
        await asyncio.gather(*prompts)
        await asyncio.gather(*(transport.next_answer() for _, transport in sessions))
    await asyncio.gather(*(session.close() for session, _ in sessions))

    for n in range(12):
        said = [text for who, text, _ in await transcript(f"CAmany{n}") if who == "caller"]
        assert said == [f"caller {n} round {r}" for r in range(3)]


async def test_a_call_whose_row_is_gone_does_not_lose_the_other_calls_turns(salon):
    (kept, kept_transport), (gone, gone_transport) = [
        await make_session(salon, sid=sid) for sid in ("CAkept", "CAgone")
    ]
    await sync_to_async(Call.objects.filter(sid="CAgone").delete)()

    await asyncio.gather(kept.handle_prompt("still here"), gone.handle_prompt("hello?"))
    await asyncio.gather(kept_transport.next_answer(), gone_transport.next_answer())
    await asyncio.gather(kept.turns_written(), gone.turns_written())

    assert ("caller", "still here", False) in await transcript("CAkept")
    assert not await sync_to_async(CallTurn.objects.filter(text="hello?").exists)()
    await kept.close()


async def test_an_outcome_twilio_reported_first_is_not_overwritten_by_the_hang_up(salon):
    session, _transport = await make_session(salon, sid="CAwebhook")
    reported_end = timezone.now() - timedelta(seconds=5)
    # The session-ended webhook got there first (e.g. Twilio dialled the transfer number).
    await sync_to_async(Call.objects.filter(sid="CAwebhook").update)(
        outcome=Call.Outcome.TRANSFERRED, ended_at=reported_end
    )

    await session.close()

    call = await call_row("CAwebhook")
    assert call.outcome == Call.Outcome.TRANSFERRED
    assert call.ended_at == reported_end


async def test_the_conversations_own_outcome_wins_over_the_row(salon):
    session, transport = await make_session(salon, sid="CAwon")
    await sync_to_async(Call.objects.filter(sid="CAwon").update)(outcome=Call.Outcome.FAILED)
    await session.handle_prompt("I booked")
    await transport.next_answer()

    await session.close()

    assert (await call_row("CAwon")).outcome == Call.Outcome.BOOKED


async def test_a_call_that_ends_writes_its_turns_and_outcome_in_one_trip(salon, monkeypatch):
    import bookings.orm
    import calls.session
    import calls.transcript

    trips: list[str] = []

    def counted(func):
        trips.append(getattr(func, "__name__", repr(func)))
        return bookings.orm.run_orm(func)

    monkeypatch.setattr(calls.session, "run_orm", counted)
    monkeypatch.setattr(calls.transcript, "run_orm", counted)
    session, _transport = await make_session(salon, sid="CAonetrip")
    trips.clear()

    await session.handle_prompt("bye")
    await session.wait_for_answer()

    assert len(trips) == 1
    call = await call_row("CAonetrip")
    assert call.ended_at is not None
    said = await transcript("CAonetrip")
    assert ("caller", "bye", False) in said
    assert said[-1] == ("system", "Call ended (goodbye).", False)
    await session.close()
