"""A prompt far longer than anyone speaks costs its own call a bounded, linear amount of work,
and nothing more. Measured in work done (function calls counted by the profiler), never in
seconds: the machine running the suite is shared."""

from __future__ import annotations

import cProfile
import pstats
from datetime import date

import pytest

from calls.tests.test_relay_consumer import answer, connected_call, prompt, scripted_engine
from calls.understanding.services import ServiceName, match_service
from calls.understanding.utterance import MAX_UTTERANCE_CHARS, hear
from calls.understanding.when import parse_when

__all__ = ["scripted_engine"]  # the autouse fixture, shared with the consumer tests

TODAY = date(2026, 12, 1)
SERVICES = [
    ServiceName(1, "Haircut", ("cut", "trim")),
    ServiceName(2, "Beard trim"),
    ServiceName(3, "Hair colouring", ("colour", "dye")),
]
# Texts that are cheap per character but pile up mentions: every one a date, a time or a
# service, which is what made reading them quadratic.
DENSE = {
    "times": "monday 3 4 5 6 7 ",
    "clock": "at 3 pm ",
    "services": "haircut cut trim ",
    "speech": "Hi this is Maria can I get a haircut tomorrow at 3 or friday at half past four ",
}


def repeated(text: str, length: int) -> str:
    return (text * (length // len(text) + 1))[:length]


def work(func, *args, **kwargs) -> int:
    profile = cProfile.Profile()
    profile.runcall(func, *args, **kwargs)
    return pstats.Stats(profile).total_calls


@pytest.mark.parametrize("kind", DENSE)
def test_a_63_kb_prompt_is_read_no_further_than_a_spoken_turn(kind):
    spoken_turn = work(hear, repeated(DENSE[kind], MAX_UTTERANCE_CHARS), today=TODAY,
                       services=SERVICES)  # fmt: skip
    huge = work(hear, repeated(DENSE[kind], 63_000), today=TODAY, services=SERVICES)
    assert huge <= spoken_turn * 1.1


@pytest.mark.parametrize("kind", DENSE)
@pytest.mark.parametrize(
    "read",
    [
        lambda text: parse_when(text, today=TODAY),
        lambda text: match_service(text, SERVICES),
    ],
    ids=["when", "services"],
)
def test_reading_is_linear_in_length(kind, read):
    single = work(read, repeated(DENSE[kind], 4_000))
    double = work(read, repeated(DENSE[kind], 8_000))
    assert double <= single * 2.3


@pytest.mark.django_db(transaction=True)
async def test_the_engine_hears_a_long_prompt_cut_to_a_spoken_turn(salon):
    communicator = await connected_call(salon, "CAlong")
    words = "la " * 21_000  # 63 KB
    await communicator.send_json_to(prompt(words))
    echoed = "".join(f["token"] for f in await answer(communicator))
    assert len(echoed) < MAX_UTTERANCE_CHARS + 100
    await communicator.send_json_to(prompt("and now"))
    assert "".join(f["token"] for f in await answer(communicator)).startswith("You said: and now")
    await communicator.disconnect()
