"""How the spoken-time grammar reads the corpus of what callers say, and how its cost grows
with the length of an utterance.

Counts: right / asked again / wrong over calls/tests/understanding/corpus/time_expressions.txt
(see calls/tests/understanding/corpus/__init__.py for how each phrase is judged), then every
phrase that was not right. Cost: microseconds per character for utterances of growing length
built from the corpus phrases themselves; flat figures mean linear time.

    .venv/bin/python bench/bench_time_expressions.py [--quiet]
"""

from __future__ import annotations

import argparse
import sys
import time

from benchlib import ROOT

sys.path.insert(0, str(ROOT))

from calls.tests.understanding.corpus import NOW, load, score
from calls.understanding.when import parse_when


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quiet", action="store_true", help="counts and cost only")
    args = parser.parse_args()

    results = score()
    total = sum(len(rows) for rows in results.values())
    print(f"corpus: {total} phrases, now = {NOW:%A %Y-%m-%d %H:%M}")
    for kind in ("right", "asked", "wrong"):
        n = len(results[kind])
        print(f"  {kind:<6} {n:4d}  {100 * n / total:5.1f} %")
    if not args.quiet:
        for kind in ("wrong", "asked"):
            for phrase, want, got in results[kind]:
                print(f"  [{kind}] {phrase!r}: meant {want}; read {got or 'nothing'}")

    phrases = [phrase for phrase, _ in load()]
    text = ", ".join(phrases)
    print("CPU cost per character (one utterance of n characters):")
    for n in (200, 2_000, 20_000):
        utterance = (text * (n // len(text) + 1))[:n]
        rounds = max(1, 20_000 // n)
        started = time.process_time()
        for _ in range(rounds):
            parse_when(utterance, today=NOW.date(), now=NOW.time())
        per_char = (time.process_time() - started) / rounds / n * 1e6
        print(f"  n={n:>6}: {per_char:6.2f} us/char")


if __name__ == "__main__":
    main()
