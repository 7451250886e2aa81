"""Scoring the spoken-time grammar against a corpus of what callers say.

`time_expressions.txt` holds the phrases and what each caller means (its header explains the
notation); `duckling_en.txt` holds the booking-relevant phrases of Duckling's English corpus
with Duckling's values (see extract_duckling.py). Each phrase is read by `parse_when` at the
corpus's "now" (a `# now: YYYY-MM-DD HH:MM` line, else NOW) and judged:

- right: the reading is the meaning (for an "ask" phrase: nothing was committed); a span of
  days or a window of the day may be narrower than the one meant, as long as it lies inside
  it ("end of the month" as its last seven days where Duckling says from the 21st);
- asked again: nothing committed contradicts the meaning, but part of it is missing, so the
  receptionist asks (a day without its time, or nothing at all);
- said back: only the day differs, and the grammar flagged the phrase as one whose weekday
  could name two dates ("next Wednesday" said on a Tuesday: this week's, by our rule, or next
  week's, by Duckling's), so the receptionist says the date it took and the caller can correct
  it. A documented rule difference, listed separately and never counted as right;
- wrong: something committed differs from the meaning, or is more than the caller said.

Used by the corpus test and by bench/bench_time_expressions.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path

from calls.understanding.when import WhenParse, parse_when, plausible_times

CORPUS = Path(__file__).with_name("time_expressions.txt")
DUCKLING = Path(__file__).with_name("duckling_en.txt")
NOW = datetime(2026, 11, 25, 10, 0)  # a Wednesday, the salon's local time
KINDS = ("right", "asked", "said back", "wrong")


@dataclass(frozen=True)
class Meaning:
    day: date | None = None
    days: tuple[date, date] | None = None
    time: time | None = None
    window: tuple[time, time] | None = None
    weekdays: frozenset[int] | None = None
    soonest: bool = False
    shift: int | None = None  # minutes
    nudge: int = 0
    ask: bool = False

    def committed(self) -> dict[str, object]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "ask" and getattr(self, f.name) not in (None, False, 0)
        }

    def __str__(self) -> str:
        return "ask" if self.ask else " ".join(f"{k}={v}" for k, v in self.committed().items())


def _date(text: str) -> date:
    parts = [int(p) for p in text.split("-")]
    return date(*parts) if len(parts) == 3 else date(NOW.year, *parts)


def _clock(text: str) -> time:
    return time(*(int(p) for p in text.split(":")))


def _meaning(spec: str) -> Meaning:
    values: dict[str, object] = {}
    for token in spec.split():
        key, _, value = token.partition("=")
        if key == "ask":
            values["ask"] = True
        elif key == "soon":
            values["soonest"] = True
        elif key == "d":
            values["day"] = _date(value)
        elif key == "span":
            first, last = value.split("..")
            values["days"] = (_date(first), _date(last))
        elif key == "t":
            values["time"] = _clock(value)
        elif key == "w":
            low, high = value.split("-")
            values["window"] = (_clock(low), _clock(high))
        elif key == "wd":
            values["weekdays"] = frozenset(int(d) for d in value.split(","))
        elif key == "shift":
            values["shift"] = int(value)
        elif key == "nudge":
            values["nudge"] = int(value)
        else:
            raise ValueError(f"unknown key {key!r} in {spec!r}")
    return Meaning(**values)


def corpus_now(path: Path = CORPUS) -> datetime:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# now:"):
            return datetime.fromisoformat(line.removeprefix("# now:").strip())
    return NOW


def load(path: Path = CORPUS) -> list[tuple[str, Meaning]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        phrase, _, spec = line.rpartition("|")
        rows.append((phrase.strip(), _meaning(spec)))
    return rows


def reading(parse: WhenParse) -> Meaning:
    """What the grammar committed to, as the receptionist would act on it."""
    clock = parse.time and plausible_times(parse.time, parse.ampm_explicit)[0]
    return Meaning(
        day=parse.day,
        days=parse.days,
        time=clock,
        window=parse.window,
        weekdays=parse.weekdays,
        soonest=parse.soonest,
        shift=parse.shift and int(parse.shift / timedelta(minutes=1)),
        nudge=parse.nudge,
    )


def _agrees(meant: object, got: object) -> bool:
    """A span of days or a window of the day agrees when it lies inside the one meant: the
    receptionist offers times within it, each read back, so none is outside what was asked."""
    if isinstance(meant, tuple) and isinstance(got, tuple):
        return meant[0] <= got[0] and got[1] <= meant[1]
    return meant == got


def judge(expected: Meaning, got: Meaning, *, date_said_back: bool = False) -> str:
    committed = got.committed()
    if expected.ask:
        return "right" if not committed else "wrong"
    meant = expected.committed()
    differs = {key for key, value in committed.items() if not _agrees(meant.get(key), value)}
    if differs == {"day"} and date_said_back and "day" in meant:
        return "said back"
    if differs:
        return "wrong"
    return "right" if committed.keys() == meant.keys() else "asked"


def score(path: Path = CORPUS) -> dict[str, list[tuple[str, Meaning, Meaning]]]:
    now = corpus_now(path)
    results: dict[str, list[tuple[str, Meaning, Meaning]]] = {kind: [] for kind in KINDS}
    for phrase, expected in load(path):
        parse = parse_when(phrase, today=now.date(), now=now.time())
        kind = judge(expected, reading(parse), date_said_back=parse.ambiguous)
        results[kind].append((phrase, expected, reading(parse)))
    return results
