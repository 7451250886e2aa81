"""Our overhead per turn with the LLM receptionist, at 1 and 50 concurrent calls.

A real Daphne (production-shaped: DEBUG off, SQLite file, in-memory layer) answers simulated
ConversationRelay callers with the "llm" engine; its LLM_* settings point at the fake
OpenAI-compatible server (calls/tests/llm/fake_openai.py) running in its own process, whose
stand-in model waits a configured time to first token (--ttft) and then streams. Each call is
a real booking: the caller asks for a haircut at a free time (the model checks it and reads
it back), then says yes (the model books it).

For each turn: first-token latency = final prompt sent -> first `text` frame received, at the
client. Every answer of the stand-in model starts with text, so a turn's first token waits for
exactly one model request; our overhead = first-token latency - the fake model's own time to
first token for that request, as the fake measured it (request read -> first chunk after the
role chunk sent: its --ttft wait, deciding the answer, and whatever its own threads lost to a
busy machine), matched to the turn by the caller's words. That leaves the socket, the session,
the engine, building and sending the request, the HTTP client, parsing the stream and cutting
the first clause, and the caller simulator's own reading. The fake's measured figures, and the
overhead computed with the nominal --ttft instead, are printed too. Also printed: the whole
answer (-> `last: true`), which includes a tool round trip and a second model request.

    .venv/bin/python bench/bench_llm_turn.py [--calls 1,50] [--ttft 0.2] [--rounds 20,3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import websockets
from benchlib import PY, ROOT, cpu_seconds, free_port, percentile, ring, start_daphne
from twilio.request_validator import RequestValidator

TOKEN = "bench-auth-token"
LLM_KEY = "bench-llm-key"
SET_ENGINE = (
    "from bookings.models import Business; from calls.models import ReceptionistSettings; "
    "ReceptionistSettings.objects.update_or_create("
    "business=Business.objects.get(slug='demo'), defaults={'engine': 'llm'})"
)


@dataclass
class Samples:
    first_token: list[float] = field(default_factory=list)
    turns: list[tuple[int, int]] = field(default_factory=list)  # (call index, turn), as above
    whole: list[float] = field(default_factory=list)
    booked: int = 0
    errors: int = 0
    unfinished: list[str] = field(default_factory=list)


async def receive_answer(
    ws, sent_at: float, samples: Samples, turn: tuple[int, int]
) -> tuple[str, bool]:
    """One streamed answer; (text, the call ended)."""
    tokens: list[str] = []
    first = True
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "end":
            return "".join(tokens), True
        if frame["type"] != "text":
            continue
        if first and frame.get("token"):
            samples.first_token.append(time.perf_counter() - sent_at)
            samples.turns.append(turn)
            first = False
        tokens.append(frame.get("token", ""))
        if frame.get("last"):
            samples.whole.append(time.perf_counter() - sent_at)
            return "".join(tokens), False


async def one_call(port: int, index: int, slot: datetime, pause: float, samples: Samples) -> None:
    sid = f"CA{index:08d}{random.getrandbits(64):016x}"
    url = f"ws://127.0.0.1:{port}/ws/voice/demo/{sid}/"
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    try:
        await ring(
            port,
            TOKEN,
            slug="demo",
            call_sid=sid,
            from_=f"+1555{index % 10**7:07d}",
            to="+15555550100",
        )
        async with websockets.connect(
            url, additional_headers={"X-Twilio-Signature": signature}, open_timeout=60
        ) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "setup",
                        "sessionId": f"VX{sid}",
                        "callSid": sid,
                        "accountSid": "AC" + "0" * 32,
                        "from": f"+1555{index % 10**7:07d}",
                        "to": "+15555550100",
                        "direction": "inbound",
                        "callType": "PSTN",
                        "callStatus": "RINGING",
                        "customParameters": {},
                    }
                )
            )
            utterances = [
                f"Hi, this is Caller {index}, can I get a haircut on "
                f"{slot:%B} {slot.day} at {slot:%-I:%M %p}?",
                "yes please",
            ]
            answer = ""
            for turn, utterance in enumerate(utterances, start=1):
                await asyncio.sleep(pause * random.uniform(0.8, 1.2))
                prompt = {"type": "prompt", "voicePrompt": utterance, "lang": "en-US", "last": True}
                sent = time.perf_counter()
                await ws.send(json.dumps(prompt))
                answer, ended = await receive_answer(ws, sent, samples, (index, turn))
                if ended:
                    break
            if "all set" in answer.lower():
                samples.booked += 1
            else:
                samples.unfinished.append(f"call {index}: last heard {answer!r}")
            # The booking's end frame follows the goodbye.
            await asyncio.wait_for(ws.recv(), 10)
    except Exception as exc:
        samples.errors += 1
        print(f"  call {index} failed: {exc!r}", file=sys.stderr)


async def one_line(port: int, first: int, rounds: int, slots, pause: float, samples: Samples):
    """One phone line: `rounds` calls one after another."""
    # Callers dial in over the first couple of seconds, not all in one instant.
    await asyncio.sleep(random.uniform(0, 2 * pause))
    for n in range(rounds):
        await one_call(port, first + n, slots[first + n], pause, samples)


def distinct_slots(count: int) -> list[datetime]:
    """One free half-hour per call (weekdays 9:00-17:30, from a week ahead)."""
    slots: list[datetime] = []
    day = date.today() + timedelta(days=7)
    while len(slots) < count:
        if day.weekday() < 5:
            slots += [datetime.combine(day, dt_time(9 + i // 2, 30 * (i % 2))) for i in range(17)]
        day += timedelta(days=1)
    return slots[:count]


def start_fake_model(ttft: float, workdir: Path) -> tuple[subprocess.Popen, str]:
    fake = subprocess.Popen(
        [
            PY,
            "-m",
            "calls.tests.llm.fake_openai",
            "--ttft",
            str(ttft),
            "--api-key",
            LLM_KEY,
            "--first-tokens",
            str(workdir / "first_tokens.jsonl"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=(workdir / "fake.log").open("w"),
        text=True,
    )
    base_url = fake.stdout.readline().strip()
    if not base_url.startswith("http"):
        fake.kill()
        raise SystemExit("The fake model did not start: " + (workdir / "fake.log").read_text())
    return fake, base_url


def start_server(workdir: Path, llm_base_url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "receptionist.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "LLM_BASE_URL": llm_base_url,
        "LLM_API_KEY": LLM_KEY,
        "LLM_MODEL": "bench-model",
    }
    env.pop("REDIS_URL", None)
    prepare = [["migrate", "-v0"], ["seed_demo"], ["shell", "-c", SET_ENGINE]]
    server = start_daphne(workdir, env, port, "receptionist.asgi:application", prepare)
    return server, port


def fake_first_tokens(workdir: Path) -> dict[tuple[int, int], float]:
    """The fake model's own time to first token per (call index, turn), from its log."""
    path = workdir / "first_tokens.jsonl"
    found: dict[tuple[int, int], float] = {}
    for line in path.read_text().splitlines() if path.exists() else ():
        entry = json.loads(line)
        caller = re.search(r"\bCaller (\d+)\b", entry["first_words"])
        if caller:
            found[(int(caller.group(1)), entry["turn"])] = entry["seconds"]
    return found


def report(
    calls: int,
    samples: Samples,
    ttft: float,
    cpu: dict[str, float],
    model_first_tokens: dict[tuple[int, int], float],
) -> None:
    overhead, model = [], []
    for seconds, turn in zip(samples.first_token, samples.turns, strict=True):
        if turn in model_first_tokens:
            model.append(model_first_tokens[turn])
            overhead.append(seconds - model_first_tokens[turn])
    nominal = [v - ttft for v in samples.first_token]
    ms = 1000
    turns = max(1, len(samples.first_token))
    print(
        f"{calls:>4} concurrent | turns {len(samples.first_token):>4} | "
        f"overhead (first token - model's) p50 {percentile(overhead, 50) * ms:6.1f} ms  "
        f"p99 {percentile(overhead, 99) * ms:6.1f} ms | "
        f"first token p50 {percentile(samples.first_token, 50) * ms:6.1f} ms | "
        f"whole answer p50 {percentile(samples.whole, 50) * ms:6.1f} ms  "
        f"p99 {percentile(samples.whole, 99) * ms:6.1f} ms | "
        f"booked {samples.booked}, errors {samples.errors}"
    )
    print(
        f"{'':>17} the fake model's own first token p50 {percentile(model, 50) * ms:6.1f} ms  "
        f"p99 {percentile(model, 99) * ms:6.1f} ms ({len(model)} of {len(nominal)} turns "
        f"matched) | overhead with the nominal --ttft subtracted instead: "
        f"p50 {percentile(nominal, 50) * ms:6.1f} ms  p99 {percentile(nominal, 99) * ms:6.1f} ms"
    )
    print(
        f"{'':>17} CPU per turn: Daphne {cpu['daphne'] / turns * ms:5.1f} ms, "
        f"fake model {cpu['fake'] / turns * ms:5.1f} ms, "
        f"callers {cpu['callers'] / turns * ms:5.1f} ms"
    )
    for line in samples.unfinished[:3]:
        print(f"{'':>17} unfinished {line[:300]}")


async def run_level(port: int, lines: int, rounds: int, first: int, slots, pause: float):
    samples = Samples()
    await asyncio.gather(
        *(one_line(port, first + i * rounds, rounds, slots, pause, samples) for i in range(lines))
    )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", default="1,50", help="concurrent calls per level")
    parser.add_argument("--rounds", default="20,3", help="calls per line, per level")
    parser.add_argument(
        "--ttft", type=float, default=0.2, help="the fake model's time to first token"
    )
    parser.add_argument("--pause", type=float, default=1.0, help="caller's pause before speaking")
    args = parser.parse_args()
    levels = [int(x) for x in args.calls.split(",")]
    rounds = [int(x) for x in args.rounds.split(",")]
    rounds += [rounds[-1]] * (len(levels) - len(rounds))
    total = sum(lines * r for lines, r in zip(levels, rounds, strict=False))
    slots = distinct_slots(total)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fake, base_url = start_fake_model(args.ttft, workdir)
        server = None
        try:
            server, port = start_server(workdir, base_url)
            print(
                f"Daphne pid {server.pid} on 127.0.0.1:{port}; fake model pid {fake.pid} "
                f"(ttft {args.ttft * 1000:.0f} ms); {os.cpu_count()} CPUs; SQLite"
            )
            first = 0
            for lines, per_line in zip(levels, rounds, strict=False):
                before = (cpu_seconds(server.pid), cpu_seconds(fake.pid), time.process_time())
                samples = asyncio.run(run_level(port, lines, per_line, first, slots, args.pause))
                cpu = {
                    "daphne": cpu_seconds(server.pid) - before[0],
                    "fake": cpu_seconds(fake.pid) - before[1],
                    "callers": time.process_time() - before[2],
                }
                first += lines * per_line
                report(lines, samples, args.ttft, cpu, fake_first_tokens(workdir))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            fake.terminate()
            fake.wait(timeout=10)
            log = (workdir / "server.log").read_text().splitlines()
            problems = [line for line in log if "ERROR" in line or "Traceback" in line]
            fallbacks = [line for line in log if "takes over" in line]
            print(
                f"server log: {len(log)} lines, {len(problems)} errors, "
                f"{len(fallbacks)} hand-overs to the embedded receptionist"
            )
            for line in problems[:5]:
                print("  " + line[:200])


if __name__ == "__main__":
    main()
