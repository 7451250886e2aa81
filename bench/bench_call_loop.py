"""Booking-heavy load: concurrent simulated calls, every one booking its own slot, against
Daphne on loopback.

Each call is what Twilio does: the signed voice webhook (TwiML back), the ConversationRelay
socket to the URL in that TwiML, a booking conversation with the embedded receptionist on a
slot no other call wants (three or four turns), the `end` frame, and the signed session-ended
request. After each level the run waits for the outbox to send every text, then checks every
booking (one per call, the caller's name, the slot asked for, no overlap) and every text
(exactly one sent per booking), and fails loudly when one is missing.

Per level (1, 50, 200 concurrent calls, each caller pausing ~1 s between turns) it prints:
first-token latency p50/p99 (final prompt sent -> first `text` frame, at the client) and
whole answer; server CPU per turn averaged over the whole booking calls (every server
process: the Daphnes during the calls and the workers until the last text is sent, over the
level's turns); database statements per booking call (counted in every server process by an
execute wrapper, bench/query_counter.py) and, on Postgres, transactions per call
(pg_stat_database); peak RSS and RSS per call. Then the same load against a trivial echo
consumer on the same server (the floor).

    .venv/bin/python bench/bench_call_loop.py [--calls 1,50,200] [--database sqlite|postgres]
        [--daphnes 1] [--workers 1] [--outbox-in-web] [--no-echo] [--pause 1.0]

sqlite: the embedded default (a SQLite file, in-memory channel layer). postgres: a fresh
Postgres database (BENCH_POSTGRES, default postgres://root@127.0.0.1:5432) and Redis
(BENCH_REDIS, default redis://127.0.0.1:6379/3, flushed). Everything runs
production-shaped (DEBUG off). `--daphnes 2` spreads the calls over two Daphne processes
(every call's webhook and socket on the same one, as a load balancer would); `--workers`
`manage.py run_worker` processes send the texts (`--outbox-in-web` also runs the outbox in
the Daphnes). Record the machine's load (`uptime`) with the figures: they are only
comparable on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import aiohttp
import websockets
from benchlib import (
    PRODUCTION_SHAPED,
    PY,
    ROOT,
    cpu_seconds,
    free_port,
    percentile,
    rss_kib,
    start_daphne,
)
from twilio.request_validator import RequestValidator

TOKEN = "bench-auth-token"
ACCOUNT_SID = PRODUCTION_SHAPED["TWILIO_ACCOUNT_SID"]
MAX_TURNS = 10
BUSINESS_TZ = zoneinfo.ZoneInfo("America/New_York")  # seed_demo's Demo Salon


@dataclass
class Samples:
    first_token: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    calls_done: int = 0
    booked: int = 0
    errors: int = 0
    unfinished: list[str] = field(default_factory=list)


FIRST = "Ada Ben Cleo Dan Eve Finn Gail Hugo Iris Jack Kim Leo Mia Ned Olga Pete Rosa Sam Tess Walt"
LAST = "Moss Reed Hart Cole Lane Fox Gray Hale Shaw Wade Bell Kerr"


def caller_name(index: int) -> str:
    """A distinct name per caller in a level (up to 240 callers), words only."""
    first, last = FIRST.split(), LAST.split()
    return f"{first[index % len(first)]} {last[index // len(first) % len(last)]}"


def caller_number(index: int) -> str:
    return f"+1202555{index:04d}"


def next_reply(answer: str, caller: int) -> str:
    """What a cooperative caller says to the receptionist's last answer."""
    lowered = answer.lower()
    if "which would you like" in lowered or "would that work" in lowered:
        return "the first one"
    if "your name" in lowered:
        return caller_name(caller)
    if "or book another one" in lowered:  # a caller from an earlier level holds a booking
        return "book another one"
    if "shall i" in lowered or "calling from" in lowered:
        return "yes"
    if "what day" in lowered or "another day" in lowered:
        return "next Friday at 11"
    return "yes"


async def receive_answer(ws, sent_at: float, samples: Samples | None) -> tuple[str, dict | None]:
    """Collect one streamed answer; returns (text, the `end` frame if the call ended)."""
    tokens: list[str] = []
    first = True
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "end":
            return "".join(tokens), frame
        if frame["type"] != "text":
            continue
        if first and samples is not None:
            samples.first_token.append(time.perf_counter() - sent_at)
            first = False
        tokens.append(frame.get("token", ""))
        if frame.get("last"):
            if samples is not None:
                samples.whole.append(time.perf_counter() - sent_at)
            return "".join(tokens), None


class Twilio:
    """Twilio's side of a call against one of the Daphnes; URLs are signed as the public
    address (PUBLIC_BASE_URL) and sent to the Daphne's own port, as a load balancer would."""

    def __init__(self, http: aiohttp.ClientSession, public: str, port: int) -> None:
        self.http, self.public, self.port = http, public, port
        self.validator = RequestValidator(TOKEN)

    def local(self, url: str) -> str:
        parts = urlsplit(url)
        return parts._replace(netloc=f"127.0.0.1:{self.port}").geturl()

    async def post(self, path: str, form: dict[str, str]) -> str:
        url = self.public + path
        signature = self.validator.compute_signature(url, form)
        async with self.http.post(
            self.local(url), data=form, headers={"X-Twilio-Signature": signature}
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status} {text[:200]}")
            return text


async def one_call(
    twilio: Twilio, index: int, slot: datetime, pause: float, samples: Samples, echo: bool
) -> None:
    sid = f"CA{index:08d}{random.getrandbits(96):024x}"
    caller = caller_number(index)
    try:
        if echo:
            socket_url, action = f"ws://127.0.0.1:{twilio.port}/ws/echo/{sid}/", None
        else:
            form = {
                "CallSid": sid,
                "AccountSid": ACCOUNT_SID,
                "From": caller,
                "To": "+15555550100",
                "CallStatus": "ringing",
                "Direction": "inbound",
            }
            twiml = ElementTree.fromstring(await twilio.post("/voice/incoming/demo/", form))
            connect = twiml.find("Connect")
            socket_url = connect.find("ConversationRelay").get("url")
            action = connect.get("action")
        signature = twilio.validator.compute_signature(socket_url, {})
        async with websockets.connect(
            twilio.local(socket_url),
            additional_headers={"X-Twilio-Signature": signature},
            open_timeout=60,
            max_size=2**20,
        ) as ws:
            setup = {
                "type": "setup",
                "sessionId": f"VX{sid}",
                "callSid": sid,
                "accountSid": ACCOUNT_SID,
                "from": caller,
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
                f"Hi, this is {caller_name(index)}, can I get a haircut on "
                f"{slot:%B} {slot.day} at {slot:%-I:%M %p}?"
            )
            end = None
            for turn in range(MAX_TURNS):
                await asyncio.sleep(pause * random.uniform(0.8, 1.2))
                prompt = {"type": "prompt", "voicePrompt": utterance, "lang": "en-US", "last": True}
                sent = time.perf_counter()
                await ws.send(json.dumps(prompt))
                answer, end = await receive_answer(ws, sent, samples)
                if "all set" in answer.lower():
                    samples.booked += 1
                if end is not None or (echo and turn >= 3):
                    break
                utterance = next_reply(answer, index)
            else:
                samples.unfinished.append(f"call {index}: last heard {answer!r}")
        if action is not None and end is not None:
            # Twilio requests the <Connect action> once the session is over.
            path = urlsplit(action).path
            ended = {
                "CallSid": sid,
                "AccountSid": ACCOUNT_SID,
                "SessionStatus": "ended",
                "SessionDuration": "10",
                "HandoffData": end.get("handoffData", ""),
            }
            await twilio.post(path, ended)
        samples.calls_done += 1
    except Exception as exc:
        samples.errors += 1
        print(f"  call {index} failed: {exc!r}", file=sys.stderr)


# -- The servers ---------------------------------------------------------------------------


def fresh_postgres_database() -> str:
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://root@127.0.0.1:5432")
    name = f"receptionist_bench_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def drop_postgres_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fresh_redis() -> str:
    import redis

    url = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/3")
    redis.Redis.from_url(url).flushdb()
    return url


class Servers:
    """N Daphnes and M counted run_worker processes on one database (and Redis)."""

    def __init__(self, workdir: Path, args: argparse.Namespace) -> None:
        self.workdir = workdir
        self.database = args.database
        self.ports = [free_port() for _ in range(args.daphnes)]
        self.public = f"http://127.0.0.1:{self.ports[0]}"
        env = {
            **os.environ,
            # DEBUG off (no per-query recording), every secret set: also for the workers.
            **PRODUCTION_SHAPED,
            "DJANGO_SETTINGS_MODULE": "receptionist.settings",
            "PUBLIC_BASE_URL": self.public,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
            "OUTBOX_RUN_IN_PROCESS": "true" if args.outbox_in_web else "false",
        }
        env.pop("REDIS_URL", None)
        if args.database == "postgres":
            env["DATABASE_URL"] = fresh_postgres_database()
            env["REDIS_URL"] = fresh_redis()
        else:
            env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
        self.env = env
        self.daphnes: list[subprocess.Popen] = []
        self.workers: list[tuple[subprocess.Popen, Path]] = []
        prepare = [["migrate", "-v0"], ["seed_demo"]]
        for i, port in enumerate(self.ports):
            self.daphnes.append(
                start_daphne(
                    workdir,
                    env,
                    port,
                    "echo_asgi:application",
                    prepare if i == 0 else [],
                    log=f"daphne-{i}.log",
                )
            )
        for i in range(args.workers):
            counts = workdir / f"worker-{i}.count"
            log = (workdir / f"worker-{i}.log").open("w")
            process = subprocess.Popen(
                [PY, str(ROOT / "bench" / "counted_worker.py"), str(counts)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
            self.workers.append((process, counts))
        for process, counts in self.workers:
            deadline = time.time() + 60
            while not counts.exists() and process.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            if not counts.exists():
                raise SystemExit(f"run_worker did not start: see {counts.with_suffix('.log')}")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.daphnes] + [p.pid for p, _ in self.workers]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def web_cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.daphnes)

    def rss(self, key: str) -> int:
        return sum(rss_kib(p.pid, key) for p in self.daphnes)

    def queries(self) -> int:
        import urllib.request

        total = 0
        for port in self.ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/queries/") as response:
                total += json.load(response)["queries"]
        for process, counts in self.workers:
            counts.unlink()
            process.send_signal(signal.SIGUSR1)
            deadline = time.time() + 10
            while not counts.exists() and time.time() < deadline:
                time.sleep(0.02)
            total += int(counts.read_text())
        return total

    def transactions(self) -> int | None:
        if self.database != "postgres":
            return None
        import psycopg

        url = self.env["DATABASE_URL"]
        with psycopg.connect(url, autocommit=True) as conn:
            # Statistics reach the view when a backend reports them (PG 15: about every
            # second while busy, at once when idle); force a fresh snapshot.
            conn.execute("SELECT pg_stat_clear_snapshot()")
            return conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (url.rsplit("/", 1)[1],),
            ).fetchone()[0]

    def stop(self) -> list[str]:
        for process in [*self.daphnes, *(p for p, _ in self.workers)]:
            process.terminate()
        for process in [*self.daphnes, *(p for p, _ in self.workers)]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        problems = []
        for log in sorted(self.workdir.glob("*.log")):
            for line in log.read_text().splitlines():
                if "ERROR" in line or "Traceback" in line:
                    problems.append(f"{log.name}: {line[:200]}")
        if self.database == "postgres":
            drop_postgres_database(self.env["DATABASE_URL"])
        return problems


# -- What the calls left behind ------------------------------------------------------------


class Records:
    """The level's bookings, texts and outbox tasks, read straight from the database."""

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

    def wait_for_outbox(self, timeout: float = 180) -> float:
        started = time.time()
        unfinished = "SELECT COUNT(*) FROM bookings_outboxtask WHERE status IN (?, ?)"
        while self._query(unfinished, ("pending", "running"))[0][0]:
            if time.time() - started > timeout:
                break
            time.sleep(0.2)
        return time.time() - started

    def check(self, after_booking_id: int, slots: list[datetime], waited: float) -> list[str]:
        """Every call's booking and exactly one text for it; returns what is wrong."""
        problems: list[str] = []
        bookings = self._query(
            'SELECT id, customer_phone, start, "end", status, customer_name '
            "FROM bookings_booking WHERE id > ? ORDER BY start",
            (after_booking_id,),
        )
        wanted = {caller_number(i): (caller_name(i), slot) for i, slot in enumerate(slots)}
        seen: set[str] = set()
        for _, phone, start, _end, status, name in bookings:
            start = _aware(start).astimezone(BUSINESS_TZ).replace(tzinfo=None)
            if phone in seen:
                problems.append(f"{phone} booked twice")
            seen.add(phone)
            if wanted.get(phone) != (name, start) or status != "confirmed":
                problems.append(
                    f"{phone}: booked {name} {start} ({status}), asked for {wanted.get(phone)}"
                )
        problems += [f"{phone} has no booking" for phone in sorted(set(wanted) - seen)]
        for (_, _, _, end, *_), (_, phone, start, *_) in itertools.pairwise(bookings):
            if _aware(start) < _aware(end):
                problems.append(f"{phone} overlaps the booking before it")
        texts = dict(
            self._query(
                "SELECT b.id, COUNT(s.id) FROM bookings_booking b LEFT JOIN calls_smsmessage s "
                "ON s.booking_id = b.id AND s.status = 'sent' WHERE b.id > ? GROUP BY b.id",
                (after_booking_id,),
            )
        )
        for booking_id, phone, *_ in bookings:
            if texts.get(booking_id) != 1:
                problems.append(f"{phone}: {texts.get(booking_id, 0)} texts sent, not 1")
        rows = self._query(
            f"SELECT s.status, {self.LATENCY[self.database]} FROM calls_smsmessage s "
            "JOIN bookings_booking b ON b.id = s.booking_id WHERE b.id > ?",
            (after_booking_id,),
        )
        sent = [float(latency) for status, latency in rows if status == "sent"]
        statuses = dict(
            self._query("SELECT status, COUNT(*) FROM bookings_outboxtask GROUP BY status")
        )
        print(
            f"{'':>16}   checked: {len(bookings)}/{len(slots)} bookings, "
            f"{sum(1 for n in texts.values() if n == 1)} with exactly one text; "
            f"booking -> text sent p50 {percentile(sent, 50):5.2f} s, "
            f"p99 {percentile(sent, 99):5.2f} s; outbox tasks {statuses} "
            f"({waited:.1f} s waited after the calls)"
        )
        return problems


def _aware(value) -> datetime:
    if isinstance(value, str):  # SQLite
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))


def distinct_slots(count: int, *, skip: int = 0) -> list[datetime]:
    """One free half-hour per caller (Demo Salon: weekdays 9:00-17:30, Saturdays
    10:00-15:30, from two days ahead), so every call is a plain booking rather than a queue
    for the same time. `skip`: slots booked by the earlier levels of this run (all levels
    share one database); reusing them sent a whole level's callers after the same few
    alternatives, racing each other until MAX_TURNS. About 750 fit in the 60-day horizon."""
    slots: list[datetime] = []
    day = date.today() + timedelta(days=2)
    while len(slots) < skip + count:
        if day.weekday() < 5:
            slots += [datetime.combine(day, time_of_day(9, 30 * i)) for i in range(17)]
        elif day.weekday() == 5:
            slots += [datetime.combine(day, time_of_day(10, 30 * i)) for i in range(12)]
        day += timedelta(days=1)
    return slots[skip : skip + count]


def time_of_day(hour: int, minutes: int) -> dt_time:
    return dt_time(hour + minutes // 60, minutes % 60)


async def run_level(
    servers: Servers, calls: int, pause: float, echo: bool, slots: list[datetime]
) -> Samples:
    samples = Samples()
    async with aiohttp.ClientSession() as http:
        sides = [Twilio(http, servers.public, port) for port in servers.ports]
        await asyncio.gather(
            *(
                one_call(sides[i % len(sides)], i, slots[i], pause, samples, echo)
                for i in range(calls)
            )
        )
    return samples


def report(label: str, samples: Samples, idle_kib: int, peak_kib: int, calls: int) -> dict:
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
    for line in samples.unfinished[:3]:
        print(f"{'':>16}   unfinished {line[:300]}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", default="1,50,200")
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--daphnes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="run_worker processes")
    parser.add_argument(
        "--outbox-in-web", action="store_true", help="OUTBOX_RUN_IN_PROCESS in the Daphnes"
    )
    parser.add_argument("--no-echo", action="store_true", help="skip the echo floor")
    args = parser.parse_args()
    if args.database == "sqlite" and args.daphnes > 1:
        parser.error("several Daphnes need Postgres + Redis")
    levels = [int(x) for x in args.calls.split(",")]
    load = os.getloadavg()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        servers = Servers(Path(tmp), args)
        records = Records(servers.env["DATABASE_URL"], args.database)
        try:
            print(
                f"{args.daphnes} Daphne(s) {servers.pids[: args.daphnes]}, {args.workers} "
                f"worker(s), outbox in web: {args.outbox_in_web}; database {args.database}; "
                f"caller pause {args.pause}s; {os.cpu_count()} CPUs; load average "
                f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
            )
            ours: dict = {}
            booked_so_far = 0
            for calls in levels:
                for echo in (False, True):
                    if echo and args.no_echo:
                        continue
                    slots = distinct_slots(calls, skip=booked_so_far)
                    idle = servers.rss("VmRSS")
                    bookings_before = records.last_booking_id()
                    queries_before = servers.queries()
                    transactions_before = servers.transactions()
                    cpu_before, web_cpu_before = servers.cpu(), servers.web_cpu()
                    samples = asyncio.run(run_level(servers, calls, args.pause, echo, slots))
                    peak = servers.rss("VmHWM")
                    row = report(
                        "echo floor" if echo else "receptionist", samples, idle, peak, calls
                    )
                    if echo:
                        ratio = ours["first_p99"] / row["first_p99"] if row["first_p99"] else 0
                        print(f"{'':>16}   ratio receptionist/echo, first-token p99: {ratio:.1f}x")
                        continue
                    ours = row
                    booked_so_far += calls
                    waited = records.wait_for_outbox()
                    cpu = servers.cpu() - cpu_before
                    web_cpu = servers.web_cpu() - web_cpu_before
                    time.sleep(1.5)  # Postgres reports its statistics about once a second
                    queries = servers.queries() - queries_before
                    transactions_after = servers.transactions()
                    turns = len(samples.first_token)
                    xacts = (
                        f", {(transactions_after - transactions_before) / calls:.1f} "
                        "transactions/call"
                        if transactions_before is not None
                        else ""
                    )
                    print(
                        f"{'':>16}   server CPU {cpu:6.2f} s over the calls and their "
                        f"follow-ups: {cpu / max(turns, 1) * 1000:5.1f} ms/turn, "
                        f"{cpu / calls * 1000:6.1f} ms/call (Daphnes "
                        f"{web_cpu / max(turns, 1) * 1000:.1f} ms/turn, workers "
                        f"{(cpu - web_cpu) / max(turns, 1) * 1000:.1f}); database: "
                        f"{queries / calls:.1f} statements/call{xacts}"
                    )
                    problems = records.check(bookings_before, slots, waited)
                    problems += [f"call errors: {samples.errors}"] if samples.errors else []
                    for problem in problems[:10]:
                        print(f"{'':>16}   WRONG: {problem}")
                    failed = failed or bool(problems)
        finally:
            problems = servers.stop()
            print(f"server logs: {len(problems)} errors")
            for line in problems[:5]:
                print("  " + line)
    if failed:
        raise SystemExit("Some calls did not end in exactly one booking and one text.")


if __name__ == "__main__":
    main()
