"""Whatever arrives on the socket after setup, the call stays up and the next prompt is answered."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from calls.tests.test_relay_consumer import answer, connected_call, prompt, scripted_engine

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["scripted_engine"]  # the autouse fixture, shared with the consumer tests

# Words the scripted engine acts on (ending the call, stalling): kept out of random prompts.
TRIGGERS = ("bye", "person", "hang", "story", "explode")
KNOWN_TYPES = ["setup", "prompt", "dtmf", "interrupt", "error", "info", "text", "end"]
FIELDS = [
    "voicePrompt", "last", "lang", "digit", "utteranceUntilInterrupt",
    "durationUntilInterruptMs", "description", "callSid", "from", "to", "customParameters",
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
safe_text = st.text(max_size=60).filter(lambda s: not any(w in s.lower() for w in TRIGGERS))

known_frames = st.builds(
    lambda kind, fields: json.dumps({"type": kind, **fields}),
    st.sampled_from(KNOWN_TYPES),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4).filter(
        lambda f: not any(w in str(f.get("voicePrompt", "")).lower() for w in TRIGGERS)
    ),
)
well_formed = st.one_of(
    st.builds(lambda t, last: json.dumps(prompt(t, last)), safe_text, st.booleans()),
    st.builds(lambda d: json.dumps({"type": "dtmf", "digit": d}), st.sampled_from("0123456789*#")),
    st.builds(lambda t: json.dumps({"type": "interrupt", "utteranceUntilInterrupt": t}), safe_text),
)
frames = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    known_frames,
    well_formed,
    st.integers(60_000, 70_000).map(lambda n: json.dumps(prompt("x" * n))),
    st.integers(1, 5_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 5_000).map(lambda n: '{"type": "prompt", "voicePrompt": ' * n),
)

_sids = itertools.count()


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(junk=st.lists(frames, min_size=1, max_size=6))
async def test_junk_never_ends_the_call(salon, settings, junk):
    settings.CALL_DTMF_PAUSE_SECONDS = 60  # digits without '#' wait; they must not race the check
    sid = f"CAfuzz{next(_sids)}"
    communicator = await connected_call(salon, sid)
    try:
        for frame in junk:
            # send_input, not send_to: an empty text frame is junk worth sending too.
            await communicator.send_input({"type": "websocket.receive", "text": frame})
        await communicator.send_json_to(prompt("zebra 12345"))
        # Answers to well-formed junk may come first; ours is the one naming the zebra.
        heard = ""
        for _ in range(200):
            frames_of_answer = await answer(communicator)
            assert all(f["type"] == "text" for f in frames_of_answer), frames_of_answer
            heard += "".join(f["token"] for f in frames_of_answer)
            if "zebra 12345" in heard:
                break
            heard = ""
        assert "You said: zebra 12345. Anything else?" in heard
        assert not communicator.future.done()  # the consumer is still running
    finally:
        await communicator.disconnect()
