"""Concurrent simulated calls over ConversationRelay against one Daphne process on loopback.

For 1, 50 and 200 concurrent calls (each caller pausing ~1 s between turns) it prints
p50/p99 of first-token latency (final prompt sent -> first `text` frame received, at the
client) and of whole-answer latency (-> the `last: true` frame), the server's peak RSS and
memory per call; then the same against a trivial echo consumer on the same server (the
floor) and the ratio.

    .venv/bin/python bench/bench_call_loop.py [--calls 1,50,200] [--pause 1.0]

The server runs production-shaped (DEBUG off) on the embedded default (SQLite file,
in-memory layer) or, with --database postgres, on a fresh Postgres database. Every call is
a real booking conversation with the embedded receptionist, each caller on its own slot
(levels never reuse one another's). After each level the run waits until the server's
outbox has sent every booking's text and prints how long that took; it also prints the
server's CPU per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import websockets
from benchlib import ROOT, cpu_seconds, free_port, percentile, ring, rss_kib, start_daphne
from twilio.request_validator import RequestValidator

TOKEN = "bench-auth-token"
MAX_TURNS = 10


@dataclass
class Samples:
    first_token: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    calls_done: int = 0
    booked: int = 0
    errors: int = 0
    unfinished: list[str] = field(default_factory=list)


def next_reply(answer: str, caller: int) -> str:
    """What a cooperative caller says to the receptionist's last answer."""
    lowered = answer.lower()
    if "which would you like" in lowered or "would that work" in lowered:
        return "the first one"
    if "your name" in lowered:
        return f"Caller {caller}"
    if "shall i" in lowered or "calling from" in lowered:
        return "yes"
    if "what day" in lowered or "another day" in lowered:
        return "next Friday at 11"
    return "yes"


async def receive_answer(ws, sent_at: float, samples: Samples | None) -> tuple[str, bool]:
    """Collect one streamed answer; returns (text, call_ended)."""
    tokens: list[str] = []
    first = True
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "end":
            return "".join(tokens), True
        if frame["type"] != "text":
            continue
        if first and samples is not None:
            samples.first_token.append(time.perf_counter() - sent_at)
            first = False
        tokens.append(frame.get("token", ""))
        if frame.get("last"):
            if samples is not None:
                samples.whole.append(time.perf_counter() - sent_at)
            return "".join(tokens), False


async def one_call(
    port: int, index: int, slot: datetime, pause: float, samples: Samples, echo: bool
) -> None:
    sid = f"CA{index:08d}{random.getrandbits(64):016x}"
    path = f"/ws/echo/{sid}/" if echo else f"/ws/voice/demo/{sid}/"
    url = f"ws://127.0.0.1:{port}{path}"
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    try:
        if not echo:
            await ring(
                port, TOKEN, slug="demo", call_sid=sid, from_=f"+1555{index:07d}", to="+15555550100"
            )
        async with websockets.connect(
            url,
            additional_headers={"X-Twilio-Signature": signature},
            open_timeout=60,
            max_size=2**20,
        ) as ws:
            setup = {
                "type": "setup",
                "sessionId": f"VX{sid}",
                "callSid": sid,
                "accountSid": "AC" + "0" * 32,
                "from": f"+1555{index:07d}",
                "to": "+15555550100",
                "direction": "inbound",
                "callType": "PSTN",
                "callStatus": "RINGING",
                "customParameters": {},
            }
            await ws.send(json.dumps(setup))
            # Callers dial in over the first couple of seconds, not all in one instant.
            await asyncio.sleep(random.uniform(0, 2 * pause))
            utterance = (
                f"Hi, this is Caller {index}, can I get a haircut on "
                f"{slot:%B} {slot.day} at {slot:%-I:%M %p}?"
            )
            for _ in range(MAX_TURNS):
                await asyncio.sleep(pause * random.uniform(0.8, 1.2))
                prompt = {"type": "prompt", "voicePrompt": utterance, "lang": "en-US", "last": True}
                sent = time.perf_counter()
                await ws.send(json.dumps(prompt))
                answer, ended = await receive_answer(ws, sent, samples)
                if ended or (echo and _ > 2):
                    if "all set" in answer.lower():
                        samples.booked += 1
                    break
                if "all set" in answer.lower():
                    samples.booked += 1
                utterance = next_reply(answer, index)
            else:
                samples.unfinished.append(f"call {index}: last heard {answer!r}")
            samples.calls_done += 1
    except Exception as exc:
        samples.errors += 1
        print(f"  call {index} failed: {exc!r}", file=sys.stderr)


def fresh_postgres_database() -> str:
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://root@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS receptionist_bench")
        conn.execute("CREATE DATABASE receptionist_bench")
    return f"{base}/receptionist_bench"


def start_server(workdir: Path, database: str) -> tuple[subprocess.Popen, int, dict]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "receptionist.settings",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
        # Production-shaped: no per-query debug recording.
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
    }
    if database == "postgres":
        env["DATABASE_URL"] = fresh_postgres_database()
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    server = start_daphne(
        workdir, env, port, "echo_asgi:application", [["migrate", "-v0"], ["seed_demo"]]
    )
    return server, port, env


class FollowUps:
    """What the server's outbox did for the bookings a level made: every booking's text is
    queued during the call and sent in the background, and the run waits for all of it
    (the benchmark measures the call loop with its after-booking work, not without)."""

    LATENCY = {
        "sqlite": "(julianday(s.sent_at) - julianday(b.created_at)) * 86400.0",
        "postgres": "EXTRACT(EPOCH FROM s.sent_at - b.created_at)",
    }

    def __init__(self, url: str, database: str) -> None:
        self.url, self.database = url, database

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.database == "sqlite":
            import sqlite3

            path = self.url.removeprefix("sqlite:///")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=20) as conn:
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()

    def last_booking_id(self) -> int:
        return self._query("SELECT COALESCE(MAX(id), 0) FROM bookings_booking")[0][0]

    def wait_and_report(self, after_booking_id: int, timeout: float = 120) -> None:
        started = time.time()
        unfinished = "SELECT COUNT(*) FROM bookings_outboxtask WHERE status IN (?, ?)"
        while self._query(unfinished, ("pending", "running"))[0][0]:
            if time.time() - started > timeout:
                break
            time.sleep(0.2)
        waited = time.time() - started
        statuses = dict(
            self._query("SELECT t.status, COUNT(*) FROM bookings_outboxtask t GROUP BY t.status")
        )
        rows = self._query(
            f"SELECT s.status, {self.LATENCY[self.database]} FROM calls_smsmessage s "
            "JOIN bookings_booking b ON b.id = s.booking_id WHERE b.id > ?",
            (after_booking_id,),
        )
        booked = self._query(
            "SELECT COUNT(*) FROM bookings_booking WHERE id > ?", (after_booking_id,)
        )[0][0]
        sent = [float(latency) for status, latency in rows if status == "sent"]
        print(
            f"{'':>16}   follow-ups: {len(sent)}/{booked} texts sent, booking -> text sent "
            f"p50 {percentile(sent, 50):5.2f} s, p99 {percentile(sent, 99):5.2f} s, "
            f"max {max(sent, default=float('nan')):5.2f} s; outbox tasks {statuses} "
            f"({waited:.1f} s waited after the calls)"
        )


def distinct_slots(count: int, *, skip: int = 0) -> list[datetime]:
    """One free half-hour per caller (weekdays 9:00-17:30, from a week ahead), so every call
    is a plain booking rather than a queue for the same time. `skip`: slots booked by the
    earlier levels of this run (all levels share one database); reusing them sent a whole
    level's callers after the same few alternatives, racing each other until MAX_TURNS."""
    slots: list[datetime] = []
    day = date.today() + timedelta(days=7)
    while len(slots) < skip + count:
        if day.weekday() < 5:
            slots += [datetime.combine(day, time_of_day(9, 30 * i)) for i in range(17)]
        day += timedelta(days=1)
    return slots[skip : skip + count]


def time_of_day(hour: int, minutes: int) -> dt_time:
    return dt_time(hour + minutes // 60, minutes % 60)


async def run_level(port: int, calls: int, pause: float, echo: bool, skip: int) -> Samples:
    samples = Samples()
    slots = distinct_slots(calls, skip=skip)
    await asyncio.gather(*(one_call(port, i, slots[i], pause, samples, echo) for i in range(calls)))
    return samples


def report(
    label: str, samples: Samples, idle_kib: int, peak_kib: int, calls: int, cpu: tuple
) -> dict:
    ms = lambda v: v * 1000  # noqa: E731
    row = {
        "first_p50": ms(percentile(samples.first_token, 50)),
        "first_p99": ms(percentile(samples.first_token, 99)),
        "whole_p50": ms(percentile(samples.whole, 50)),
        "whole_p99": ms(percentile(samples.whole, 99)),
    }
    per_call = (peak_kib - idle_kib) / calls if calls else 0
    print(
        f"{label:>16} | {calls:>4} calls | turns {len(samples.first_token):>5} | "
        f"first token p50 {row['first_p50']:7.1f} ms  p99 {row['first_p99']:7.1f} ms | "
        f"whole answer p50 {row['whole_p50']:7.1f} ms  p99 {row['whole_p99']:7.1f} ms | "
        f"peak RSS {peak_kib / 1024:6.1f} MiB, {per_call:6.0f} KiB/call | "
        f"booked {samples.booked}, unfinished {len(samples.unfinished)}, "
        f"errors {samples.errors}"
    )
    server_cpu, client_cpu, wall = cpu
    print(
        f"{'':>16}   CPU: server {server_cpu:5.2f} s ({server_cpu / calls * 1000:5.1f} ms/call, "
        f"{server_cpu / wall * 100:3.0f}% of one core over {wall:4.1f} s), "
        f"bench client {client_cpu:5.2f} s"
    )
    for line in samples.unfinished[:3]:
        print(f"{'':>16}   unfinished {line[:300]}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", default="1,50,200")
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="sqlite: the embedded default; postgres: the production database (BENCH_POSTGRES)",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.calls.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        server, port, env = start_server(Path(tmp), args.database)
        follow_ups = FollowUps(env["DATABASE_URL"], args.database)
        try:
            print(
                f"Daphne pid {server.pid} on 127.0.0.1:{port}; "
                f"caller pause {args.pause}s; {os.cpu_count()} CPUs; database {args.database}"
            )
            ours: dict = {}
            booked_so_far = 0
            for calls in levels:
                for echo in (False, True):
                    idle = rss_kib(server.pid, "VmRSS")
                    bookings_before = follow_ups.last_booking_id()
                    cpu_before = cpu_seconds(server.pid), time.process_time(), time.time()
                    samples = asyncio.run(
                        run_level(port, calls, args.pause, echo, skip=booked_so_far)
                    )
                    cpu = tuple(
                        after - before
                        for after, before in zip(
                            (cpu_seconds(server.pid), time.process_time(), time.time()),
                            cpu_before,
                            strict=True,
                        )
                    )
                    peak = rss_kib(server.pid, "VmHWM")
                    row = report(
                        "echo floor" if echo else "receptionist", samples, idle, peak, calls, cpu
                    )
                    if echo:
                        ratio = (
                            ours["first_p99"] / row["first_p99"]
                            if row["first_p99"]
                            else float("nan")
                        )
                        print(f"{'':>16}   ratio receptionist/echo, first-token p99: {ratio:.1f}x")
                    else:
                        ours = row
                        booked_so_far += calls
                        after_calls = cpu_seconds(server.pid)
                        follow_ups.wait_and_report(bookings_before)
                        print(
                            f"{'':>16}   server CPU after the calls, finishing follow-ups: "
                            f"{cpu_seconds(server.pid) - after_calls:.2f} s"
                        )
        finally:
            server.terminate()
            server.wait(timeout=10)
            log = (Path(tmp) / "server.log").read_text().splitlines()
            problems = [line for line in log if "ERROR" in line or "Traceback" in line]
            print(f"server log: {len(log)} lines, {len(problems)} errors")
            for line in problems[:5]:
                print("  " + line[:200])


if __name__ == "__main__":
    main()
