"""How the spoken-time grammar reads the corpus of what callers say, and how the cost of
understanding grows with the length of an utterance.

Counts: right / asked again / said back / wrong over two corpora (see
calls/tests/understanding/corpus/__init__.py for how each phrase is judged): ours
(time_expressions.txt) and the booking-relevant phrases of Duckling's English time corpus
(duckling_en.txt, see extract_duckling.py), then every phrase that was not right or asked.
Cost: CPU microseconds per character for utterances of growing
length built from the corpus phrases, for the time grammar alone and for `hear` (every
extractor); flat figures mean linear time.

    .venv/bin/python bench/bench_time_expressions.py [--quiet]
"""

from __future__ import annotations

import argparse
import sys
import time

from benchlib import ROOT

sys.path.insert(0, str(ROOT))

from calls.tests.understanding.corpus import CORPUS, DUCKLING, KINDS, NOW, corpus_now, load, score
from calls.understanding.services import ServiceName
from calls.understanding.utterance import hear
from calls.understanding.when import parse_when

SERVICES = (
    ServiceName(1, "Haircut", ("hair cut", "cut")),
    ServiceName(2, "Beard trim", ("trim", "beard", "shave")),
    ServiceName(3, "Hair colouring", ("colour", "color", "dye", "highlights")),
    ServiceName(4, "Manicure", ("mani", "nails")),
)
LENGTHS = (200, 2_000, 20_000)


def per_char(read, text: str, n: int) -> float:
    utterance = (text * (n // len(text) + 1))[:n]
    rounds = max(1, 20_000 // n)
    started = time.process_time()
    for _ in range(rounds):
        read(utterance)
    return (time.process_time() - started) / rounds / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quiet", action="store_true", help="counts and cost only")
    args = parser.parse_args()

    for path in (CORPUS, DUCKLING):
        results = score(path)
        total = sum(len(rows) for rows in results.values())
        print(f"{path.name}: {total} phrases, now = {corpus_now(path):%A %Y-%m-%d %H:%M}")
        for kind in KINDS:
            n = len(results[kind])
            print(f"  {kind:<9} {n:4d}  {100 * n / total:5.1f} %")
        kinds = ("wrong", "said back") + (() if args.quiet else ("asked",))
        for kind in kinds:
            if kind == "asked" and path == DUCKLING:
                continue  # mostly a time without its day: long, and never a wrong commitment
            for phrase, want, got in results[kind]:
                print(f"  [{kind}] {phrase!r}: meant {want}; read {got or 'nothing'}")

    text = ", ".join(phrase for phrase, _ in load())
    readers = {
        "parse_when": lambda u: parse_when(u, today=NOW.date(), now=NOW.time()),
        "hear (every extractor)": lambda u: hear(
            u, today=NOW.date(), services=SERVICES, now=NOW.time()
        ),
    }
    print("CPU microseconds per character, one utterance of n characters (flat = linear):")
    for label, read in readers.items():
        figures = ", ".join(f"n={n}: {per_char(read, text, n):.2f}" for n in LENGTHS)
        print(f"  {label:<24} {figures}")


if __name__ == "__main__":
    main()
