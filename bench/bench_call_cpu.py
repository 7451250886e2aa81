"""Python work per booking call, in one process: a figure that a busy machine does not move.

The call-loop bench (bench_call_loop.py) measures what a caller sees, across processes, and
its CPU figures swing with whatever else the machine runs. This one plays the same booking
calls (the signed voice webhook, the ConversationRelay socket with its setup and the
caller's turns, the session-ended request) against the product's ASGI app inside this
process, through channels' test communicators, one call at a time (or `--concurrency` at
once), and counts:

- Python function calls per booking call (`--count`; every thread, C functions included):
  the same code gives the same count whatever the machine is doing, so it compares two
  versions of the code reliably; the run is slower while counting;
- CPU per call and per turn of this process (client side included, so above the server's
  own), and the web side's SQL statements per call (no worker runs: texts stay queued).

`--tree N` (with --count) prints where the calls go, by the project's own functions, N
levels deep. The database is a fresh one (SQLite file, or Postgres at BENCH_POSTGRES).

    .venv/bin/python bench/bench_call_cpu.py [--calls 100] [--concurrency 1]
        [--database sqlite|postgres] [--count] [--tree 4]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

from benchlib import PRODUCTION_SHAPED, ROOT

sys.path.insert(0, str(ROOT))
TOKEN = PRODUCTION_SHAPED["TWILIO_AUTH_TOKEN"]
ACCOUNT_SID = PRODUCTION_SHAPED["TWILIO_ACCOUNT_SID"]
PUBLIC = "http://testserver"


class Counter:
    """Function calls in every thread while `on` (sys.setprofile), and optionally the
    chain of project functions each was made under."""

    def __init__(self, tree: int) -> None:
        self.on = False
        self.tick = itertools.count().__next__
        self.tree_depth = tree
        self.tree: collections.Counter = collections.Counter()
        root = str(ROOT) + "/"

        def profile(frame, event, arg) -> None:
            if not self.on or event not in ("call", "c_call"):
                return
            self.tick()
            if not self.tree_depth:
                return
            chain = []
            while frame is not None:
                path = frame.f_code.co_filename
                if path.startswith(root) and "/.venv/" not in path and "/bench/" not in path:
                    chain.append(f"{path[len(root) : -3]}:{frame.f_code.co_name}")
                frame = frame.f_back
            chain.reverse()
            for depth in range(1, min(len(chain), self.tree_depth) + 1):
                self.tree[tuple(chain[:depth])] += 1

        self.profile = profile

    def install(self) -> None:
        sys.setprofile(self.profile)
        threading.setprofile(self.profile)

    def calls(self) -> int:
        return self.tick()

    def print_tree(self, calls: int, prefix: tuple = (), min_share: float = 0.01) -> None:
        total = sum(v for k, v in self.tree.items() if len(k) == 1) or 1
        children = sorted(
            (
                (k, v)
                for k, v in self.tree.items()
                if len(k) == len(prefix) + 1 and k[:-1] == prefix
            ),
            key=lambda kv: -kv[1],
        )
        for key, value in children:
            if value / total < min_share:
                continue
            print(f"  {'  ' * len(prefix)}{value / calls:8.0f} {key[-1]}")
            self.print_tree(calls, key, min_share)


def prepare_database(database: str, workdir: Path) -> tuple[str, callable]:
    if database == "sqlite":
        return f"sqlite:///{workdir / 'cpu.sqlite3'}", lambda: None
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://root@127.0.0.1:5432")
    name = f"receptionist_bench_cpu_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return f"{base}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--count", action="store_true", help="count Python function calls")
    parser.add_argument("--tree", type=int, default=0, help="with --count: where, N deep")
    args = parser.parse_args()
    counter = Counter(args.tree if args.count else 0)
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = prepare_database(args.database, Path(tmp))
        os.environ.update(PRODUCTION_SHAPED)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "receptionist.settings",
                "DATABASE_URL": url,
                "PUBLIC_BASE_URL": PUBLIC,
                "LOG_LEVEL": "WARNING",
                "OUTBOX_RUN_IN_PROCESS": "false",
            }
        )
        os.environ.pop("REDIS_URL", None)  # nothing here goes through the channel layer
        try:
            run(args, counter)
        finally:
            drop()


def run(args: argparse.Namespace, counter: Counter) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    import query_counter

    query_counter.install()
    if args.count:
        counter.install()  # before any thread starts: threads inherit it
    from bench_call_loop import caller_name, caller_number, distinct_slots, next_reply
    from channels.testing import HttpCommunicator, WebsocketCommunicator
    from twilio.request_validator import RequestValidator

    from receptionist.asgi import application

    validator = RequestValidator(TOKEN)

    async def post(path: str, form: dict[str, str]) -> str:
        headers = [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"x-twilio-signature", validator.compute_signature(PUBLIC + path, form).encode()),
        ]
        http = HttpCommunicator(
            application, "POST", path, body=urlencode(form).encode(), headers=headers
        )
        response = await http.get_response(timeout=30)
        await http.send_input({"type": "http.disconnect"})  # as Daphne does: the app ends
        await http.wait(timeout=30)
        if response["status"] != 200:
            raise RuntimeError(f"{path}: HTTP {response['status']}")
        return response["body"].decode()

    async def one_call(index: int, slot) -> tuple[bool, int]:
        sid = f"CA{index:08d}{random.getrandbits(96):024x}"
        caller = caller_number(index)
        twiml = ElementTree.fromstring(
            await post(
                "/voice/incoming/demo/",
                {
                    "CallSid": sid,
                    "AccountSid": ACCOUNT_SID,
                    "From": caller,
                    "To": "+15555550100",
                    "CallStatus": "ringing",
                    "Direction": "inbound",
                },
            )
        )
        connect = twiml.find("Connect")
        socket_url = connect.find("ConversationRelay").get("url")
        signature = validator.compute_signature(socket_url, {})
        ws = WebsocketCommunicator(
            application,
            urlsplit(socket_url).path,
            headers=[(b"x-twilio-signature", signature.encode())],
        )
        connected, _ = await ws.connect(timeout=30)
        assert connected
        setup = {"type": "setup", "callSid": sid, "from": caller, "to": "+15555550100"}
        await ws.send_to(text_data=json.dumps(setup))
        utterance = (
            f"Hi, this is {caller_name(index)}, can I get a haircut on "
            f"{slot:%B} {slot.day} at {slot:%-I:%M %p}?"
        )
        end, turns = None, 0
        for _ in range(10):
            prompt = {"type": "prompt", "voicePrompt": utterance, "lang": "en-US", "last": True}
            await ws.send_to(text_data=json.dumps(prompt))
            turns += 1
            tokens = []
            while (frame := json.loads(await ws.receive_from(timeout=30)))["type"] != "end":
                tokens.append(frame.get("token", ""))
                if frame.get("last"):
                    break
            answer = "".join(tokens)
            if frame["type"] == "end" or "goodbye" in answer.lower():
                end = frame if frame["type"] == "end" else json.loads(await ws.receive_from(30))
                break
            utterance = next_reply(answer, index)
        await ws.disconnect()
        await post(
            urlsplit(connect.get("action")).path,
            {
                "CallSid": sid,
                "AccountSid": ACCOUNT_SID,
                "SessionStatus": "ended",
                "SessionDuration": "10",
                "HandoffData": (end or {}).get("handoffData", ""),
            },
        )
        return "all set" in answer.lower(), turns

    async def level() -> None:
        slots = distinct_slots(args.calls + 2)
        for warm in (args.calls, args.calls + 1):  # imports, caches, the pool's connections
            await one_call(warm, slots[warm])
        gate = asyncio.Semaphore(args.concurrency)

        async def gated(index: int) -> tuple[bool, int]:
            async with gate:
                return await one_call(index, slots[index])

        statements = query_counter.count()
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        counter.on = True
        counted = counter.calls()
        results = await asyncio.gather(*(gated(i) for i in range(args.calls)))
        counted = counter.calls() - counted
        counter.on = False
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        turns = sum(t for _, t in results)
        n = args.calls
        print(
            f"{args.database}, {n} calls, {args.concurrency} at a time: booked "
            f"{sum(b for b, _ in results)}, {turns} turns; CPU {cpu * 1000 / n:.1f} ms/call, "
            f"{cpu * 1000 / turns:.2f} ms/turn (this process, client included); "
            f"{(query_counter.count() - statements) / n:.1f} statements/call (web side); "
            f"wall {wall * 1000 / n:.1f} ms/call; load {os.getloadavg()[0]:.2f}"
            + (f"; {counted / n:,.0f} Python calls/call" if args.count else "")
        )
        if args.tree:
            counter.print_tree(n)

    asyncio.run(level())


if __name__ == "__main__":
    main()
