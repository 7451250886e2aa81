"""Write duckling_en.txt: the booking-relevant phrases of Duckling's English time corpus.

Duckling (https://github.com/facebook/duckling, BSD-3-Clause, Copyright (c) 2016-present,
Facebook, Inc.) tests its English time grammar with `Duckling/Time/EN/Corpus.hs`: groups of
phrases, each with the value Duckling expects at its reference time, Tuesday 12 February 2013,
04:30. This script reads that file's `allExamples` (not the latent, negative or
locale-specific lists), keeps the phrases a caller booking a salon appointment could say, and
writes each with Duckling's expected value in the notation of time_expressions.txt.

    .venv/bin/python -m calls.tests.understanding.corpus.extract_duckling PATH/TO/Corpus.hs COMMIT

The selection rule (a group is dropped when any of these holds; the reason is counted):

- holiday: the value is a named holiday (`datetimeHoliday...`): a booking desk asks which
  day is meant rather than keeping a holiday calendar.
- coarse: the grain is a year or quarter, or a span of days longer than 31 days (seasons,
  "next 3 months"): nothing to offer from.
- past: the value starts before the reference day (yesterday, "last week", "3 days ago"):
  appointments are booked ahead.
- far: the value starts more than a year after the reference day ("march 3 2015").
- seconds: a second-grain value other than "now" ("in a sec", "next 3 seconds").
- zone: the phrase names a time zone (a caller books in the salon's own time).
- written: notation speech-to-text does not produce: French "15h30", ISO "2015-03-03",
  fractions "1/4h", the marks ' and " for minutes and seconds, and the abbreviations
  ATM, EOD, EOM, BOM, EOY, BOY, qtr.

Duckling's values are converted as a salon receptionist acts on them:

- a day -> d=; a clock time -> d= t=; "now"/"ASAP" -> soon; a week or a month -> span=.
- an interval between two clock times -> w= with Duckling's exclusive end made inclusive at
  its grain ("3-4pm" is 15:00-17:00 at hour grain, i.e. until 4pm -> w=15:00-16:00);
  "after 2 pm" -> w=14:00-23:59; "before 11 am" / "by 2:00pm" -> w=00:00-11:00 / 00:00-14:00
  (the part before "now" can't be booked either way).
- Duckling's parts of the day are wide (morning 00-12, afternoon 12-19, evening 18-24); the
  salon's are its opening-hours windows (morning 09-12, afternoon 12-17, evening 17-21, lunch
  11:30-14, early morning 00-10, after lunch 13-23:59, after school 15-21). The part of day
  named is what is compared, so those windows are written instead of Duckling's.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).with_name("duckling_en.txt")
REFERENCE = datetime(2013, 2, 12, 4, 30)

_GROUP = re.compile(
    r"examples\s*\((?P<kind>datetime|datetimeInterval|datetimeOpenInterval|datetimeHoliday"
    r"|datetimeIntervalHoliday)\s+(?P<args>.*?)\)\s*\[(?P<phrases>(?:\s*\"(?:[^\"\\\\]|\\\\.)*\"\s*,?)*)\s*\]",
    re.S,
)
_TUPLE = re.compile(r"\((-?\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)")
_GRAIN = re.compile(r"\b(Second|Minute|Hour|Day|Week|Month|Quarter|Year)\b")
_PHRASE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ZONE = re.compile(r"\b(?:gmt|cst|pst|cet|bst|ist)\b", re.I)
_WRITTEN = re.compile(
    r"\d+h\d*\b|\d{4}-\d|\d/\d+\s*h|\d['\"]|\\\"|\b(?:atm|eod|eom|bom|eoy|boy|qtr)\b", re.I
)
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b")
_PART_WORD = re.compile(r"morning|afternoon|evening|night|tonite|lunch", re.I)
_CLOCK = re.compile(r"\d\s*(?:am|pm|a|p)\b|\d:\d|\b(?:at|from)\s+\d|\d\s*-\s*\d", re.I)
# Duckling's part-of-day intervals (start hour, end hour) -> the salon's window, by name.
_PARTS = {
    (0, 12): "09:00-12:00",  # morning
    (12, 19): "12:00-17:00",  # afternoon
    (18, 24): "17:00-21:00",  # evening, tonight
    (12, 14): "11:30-14:00",  # lunch
    (0, 9): "00:00-10:00",  # early morning
    (13, 17): "13:00-23:59",  # after lunch
    (15, 21): "15:00-21:00",  # after school
}


def _dt(t: tuple[str, ...]) -> datetime:
    y, mo, d, h, mi, s = (int(x) for x in t)
    return datetime(y, mo, d) + timedelta(hours=h, minutes=mi, seconds=s)


def _day(d: date) -> str:
    return d.isoformat()


def _clock(t: datetime) -> str:
    return f"{t:%H:%M}"


def _convert(kind: str, grain: str, points: list[datetime], phrases: list[str], after: bool) -> str:
    """The meaning in corpus notation, or the reason the group is dropped."""
    if "Holiday" in kind:
        return "!holiday"
    if grain in ("Year", "Quarter"):
        return "!coarse"
    start = points[0]
    if start.date() < REFERENCE.date() or (grain in ("Hour", "Minute") and start < REFERENCE):
        return "!past"
    if start - REFERENCE > timedelta(days=366):
        return "!far"
    if kind == "datetimeOpenInterval":
        if start == REFERENCE:
            return "soon"
        if after:
            return f"d={_day(start.date())} w={_clock(start)}-23:59"
        return f"d={_day(start.date())} w=00:00-{_clock(start)}"
    if kind == "datetime":
        if grain == "Second":
            if start == REFERENCE:
                return "soon"
            if start.second:
                return "!seconds"
            return f"d={_day(start.date())} t={_clock(start)}"  # "in 15 minutes"
        if grain == "Day":
            return f"d={_day(start.date())}"
        if grain in ("Hour", "Minute"):
            return f"d={_day(start.date())} t={_clock(start)}"
        if grain == "Week":
            return f"span={_day(start.date())}..{_day(start.date() + timedelta(6))}"
        if grain == "Month":
            nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            return f"span={_day(start.date())}..{_day(nxt.date() - timedelta(1))}"
        return "!coarse"
    end = points[1]
    if grain == "Second" and start == REFERENCE:  # "by 2:00pm", "within 2 weeks"
        midnight = datetime.combine(start.date(), datetime.min.time()) + timedelta(1)
        if end.date() == start.date():
            return f"d={_day(start.date())} w=00:00-{_clock(end)}"
        if end == midnight:
            return f"d={_day(start.date())} w=00:00-23:59"
        return f"span={_day(start.date())}..{_day((end - timedelta(seconds=1)).date())}"
    if grain == "Second":
        return "!seconds"
    if grain in ("Day", "Week", "Month"):
        last = (end - timedelta(days=1)).date()
        if (last - start.date()).days > 31:
            return "!coarse"
        return f"span={_day(start.date())}..{_day(last)}"
    # an interval within a day (Hour or Minute grain)
    if end.date() != start.date() and end != datetime.combine(
        start.date(), datetime.min.time()
    ) + timedelta(1):
        return "!coarse"  # over several days ("this week-end" from Friday 18:00)
    named = all(_PART_WORD.search(p) or not _NUMBER.search(p) for p in phrases)
    if named and not any(_CLOCK.search(p) for p in phrases):
        hours = (start.hour, 24 if end.date() != start.date() else end.hour)
        window = _PARTS.get(hours)
        return f"d={_day(start.date())} w={window}" if window else "!part"
    inclusive = end - (timedelta(hours=1) if grain == "Hour" else timedelta(minutes=1))
    return f"d={_day(start.date())} w={_clock(start)}-{_clock(inclusive)}"


def extract(source: str) -> tuple[list[tuple[str, str]], Counter]:
    body = source.split("allExamples = concat", 1)[1]
    body = re.sub(r"^\s*--.*$", "", body, flags=re.M)  # comments between a value and its phrases
    rows: list[tuple[str, str]] = []
    dropped: Counter = Counter()
    for m in _GROUP.finditer(body):
        kind, args = m["kind"], m["args"]
        grain = _GRAIN.findall(args)[-1]
        points = [] if grain in ("Year", "Quarter") else [_dt(t) for t in _TUPLE.findall(args)]
        phrases = [p.replace('\\"', '"') for p in _PHRASE.findall(m["phrases"])]
        after = args.lstrip().startswith("After")
        meaning = _convert(kind, grain, points, phrases, after)
        for phrase in phrases:
            if meaning.startswith("!"):
                dropped[meaning[1:]] += 1
            elif _ZONE.search(phrase):
                dropped["zone"] += 1
            elif _WRITTEN.search(phrase):
                dropped["written"] += 1
            else:
                rows.append((phrase, meaning))
    return rows, dropped


def main() -> None:
    source_path, commit = sys.argv[1], sys.argv[2]
    rows, dropped = extract(Path(source_path).read_text(encoding="utf-8"))
    kept = len(rows)
    lines = [
        "# The booking-relevant phrases of Duckling's English time corpus, with Duckling's",
        "# expected values (https://github.com/facebook/duckling, Duckling/Time/EN/Corpus.hs at",
        f"# commit {commit}; BSD-3-Clause, Copyright (c) 2016-present, Facebook, Inc.).",
        "# Written by extract_duckling.py, whose docstring gives the selection rule and how the",
        "# values are converted. Notation as in time_expressions.txt.",
        f"# Kept {kept}; dropped "
        + ", ".join(f"{reason} {n}" for reason, n in sorted(dropped.items())),
        f"# now: {REFERENCE:%Y-%m-%d %H:%M}",
        "",
    ]
    lines += [f"{phrase} | {meaning}" for phrase, meaning in rows]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"kept {kept}, dropped {dict(dropped)} -> {OUT}")


if __name__ == "__main__":
    main()
