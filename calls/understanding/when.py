"""A small grammar for the dates and times callers say on the phone.

Input is speech-to-text output ("tomorrow at 3 p.m.", "next Tuesday at half past two").
General-purpose parsers misread spoken phrasing, so this module does three simple steps:

1. ``_normalise``: lower-case, unify "p.m."/"o'clock", turn number words into digits
   ("twenty-first" -> "21st", "three thirty" -> "3:30") and drop other punctuation.
2. Scan the normalised text with small regexes into *mentions*, in two groups:
   "day" (a date or a span of days) and "clock" (a clock time or a window of the day).
3. Fold each group left to right: neighbouring mentions that belong together combine
   ("next week ... Tuesday", "tomorrow afternoon at 3"), otherwise the later one wins,
   which is how corrections ("not 3, make it 4") resolve.

Pure standard library; no Django imports.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, replace
from datetime import date, time, timedelta

log = logging.getLogger(__name__)

END_OF_DAY = time(23, 59)
WINDOWS = {
    "morning": (time(9), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(21)),
    "lunch": (time(11, 30), time(14)),
}
AFTER_LUNCH = (time(13), END_OF_DAY)
BEFORE_LUNCH = (time(0), time(11, 30))


@dataclass(frozen=True)
class WhenParse:
    day: date | None = None  # one specific day
    days: tuple[date, date] | None = None  # inclusive span when no single day was given
    time: time | None = None  # 24h if ampm_explicit, else the hour as heard (1-12)
    ampm_explicit: bool = False  # am/pm, 24h form, noon/midnight or a part of day fixed it
    window: tuple[time, time] | None = None  # vague part of day or an after/before bound
    past: bool = False  # the day named is already gone ("yesterday", "last Monday")

    @property
    def is_empty(self) -> bool:
        return self.day is None and self.days is None and self.time is None and self.window is None


def plausible_times(t: time, ampm_explicit: bool) -> list[time]:
    """Readings of a clock time, most likely first for an appointment.

    Salons and clinics rarely book 1-7 am, so "at 3" is 15:00 first; "at 9" is 09:00 first.
    """
    if ampm_explicit or not 1 <= t.hour <= 11:
        return [t]
    am, pm = t, t.replace(hour=t.hour + 12)
    return [pm, am] if t.hour <= 7 else [am, pm]


# --- 1. normalisation ---------------------------------------------------------------------

_CARDINALS = "zero one two three four five six seven eight nine ten eleven twelve thirteen"
_CARDINALS += " fourteen fifteen sixteen seventeen eighteen nineteen"
_ORDINALS = "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh"
_ORDINALS += " twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
_WORD_VALUES = {w: i for i, w in enumerate(_CARDINALS.split())}
_WORD_VALUES |= {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "oh": 0}
_ORDINAL_VALUES = {w: i for i, w in enumerate(_ORDINALS.split())}
_ORDINAL_VALUES |= {"twentieth": 20, "thirtieth": 30}
_UNIT_W = "one|two|three|four|five|six|seven|eight|nine"
_TENS_W = "twenty|thirty|forty|fifty"
_HOUR_W = f"{_UNIT_W}|ten|eleven|twelve"
_TEENS_W = "thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_MINUTE_W = (
    rf"(?:ten|eleven|twelve|{_TEENS_W}|(?:{_TENS_W})(?:\s+(?:{_UNIT_W}))?|oh\s+(?:{_UNIT_W}))"
)
# "three thirty", "nine oh five", "two forty five": an hour word then a minutes phrase.
_SPOKEN_CLOCK = re.compile(rf"\b({_HOUR_W})\s+({_MINUTE_W})\b")
# "twenty one" -> 21, "twenty first" -> 21st
_COMPOUND = re.compile(rf"\b({_TENS_W})\s+({_UNIT_W}|first|second|third|\w+th)\b")
_SINGLE_W = "|".join(w for w in [*_WORD_VALUES, *_ORDINAL_VALUES] if w != "oh")  # "oh, Tuesday"
_NUMBER_WORD = re.compile(rf"\b(?:{_SINGLE_W})\b")


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _words_value(words: str) -> int:
    return sum(_WORD_VALUES[w] for w in words.split())


def _compound(m: re.Match) -> str:
    if m[2] in _ORDINAL_VALUES:
        return _ordinal(_WORD_VALUES[m[1]] + _ORDINAL_VALUES[m[2]])
    return str(_WORD_VALUES[m[1]] + _WORD_VALUES.get(m[2], 0)) if m[2] in _WORD_VALUES else m[0]


def _single_word(m: re.Match) -> str:
    w = m[0]
    return str(_WORD_VALUES[w]) if w in _WORD_VALUES else _ordinal(_ORDINAL_VALUES[w])


def _number_words_to_digits(s: str) -> str:
    s = _SPOKEN_CLOCK.sub(lambda m: f"{_words_value(m[1])}:{_words_value(m[2]):02d}", s)
    s = _COMPOUND.sub(_compound, s)
    s = _NUMBER_WORD.sub(_single_word, s)
    return re.sub(r"\b(1?\d|2[0-3])\s+hundred\b", r"\g<1>00", s)  # "fifteen hundred hours"


def _normalise(text: str) -> str:
    s = text.lower().replace("\u2019", "'")
    s = re.sub(r"\bo\s*'?\s*clock\b", " oclock", s)
    s = re.sub(r"(?<![a-z])([ap])\.\s?m\b\.?", r" \1m", s)  # "3 p.m." / "3p.m" -> "3 pm"
    s = re.sub(r"(?<![\d$])(\d{1,2})\.([0-5]\d)\b", r"\1:\2", s)  # "3.30" -> "3:30"
    s = s.replace("-", " ")  # "twenty-first", "555-0100"
    # Before dropping commas: "table for two, thirty minutes" must not become "2:30".
    s = _number_words_to_digits(s)
    s = re.sub(r"[^a-z0-9:/'\s]", " ", s)  # commas, "?"; keep "can't", "3:30", "12/3"
    s = re.sub(r"(\d)\s*([ap])\s?m\b", r"\1 \2m", s)  # "3pm", "10 a m" -> "3 pm", "10 am"
    s = re.sub(r"\b12\s+(noon|midnight)\b", r"\1", s)
    return re.sub(r"\s+", " ", s).strip()


# --- 2. mentions --------------------------------------------------------------------------


@dataclass
class _Mention:
    start: int
    end: int
    group: str  # "day" or "clock"
    day: date | None = None
    days: tuple[date, date] | None = None
    past: bool = False
    weekday: int | None = None  # a plain weekday, so "next week on Tuesday" can combine
    calendar_date: bool = False  # "the 5th", "Dec 3": beats a weekday said next to it
    time: time | None = None
    explicit: bool = False
    window: tuple[time, time] | None = None
    period: str | None = None  # morning/afternoon/evening: can fix am/pm of a nearby time
    negated: str | None = None  # "not" (rejects this option) or "no" (may reject the previous)


_WEEKDAYS = {"monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2, "thursday": 3}
_WEEKDAYS |= {"thurs": 3, "friday": 4, "saturday": 5, "sunday": 6}
_WD = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
# Spelled out rather than calendar.month_name, which follows the server locale.
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES.split(), start=1)}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))

# Day patterns, applied in this order; a match may not overlap an earlier one.
_MONTH_FIRST = re.compile(
    rf"\b(?P<mon>{_MON})\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:\s+(?P<y>\d{{4}})\b)?"
)
_DAY_FIRST = re.compile(
    rf"\b(?:the\s+)?(?P<d>\d{{1,2}})(?P<sfx>st|nd|rd|th)?(?P<of>\s+of)?\s+(?P<mon>{_MON})\b"
    rf"(?:\s+(?P<y>\d{{4}})\b)?"
)
_NUMERIC_DATE = re.compile(
    r"\b(?P<mon>1[0-2]|0?[1-9])/(?P<d>3[01]|[12]\d|0?[1-9])(?:/(?P<y>\d{4}|\d{2}))?\b"
)
# "the first available", "the second one" are not days of the month.
_ORDINAL_DAY = re.compile(
    r"\b(?:the|on)\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b"
    r"(?!\s+(?:available|one|ones|thing|time|slot|opening|appointment|option|person|floor))"
)
_OFFSET = re.compile(
    rf"\bin\s+(?P<n>a|an|a couple of|\d{{1,3}})\s+(?P<unit>day|week|month)s?\b"
    rf"|\b(?P<n2>a|\d{{1,2}})\s+(?P<unit2>day|week)s?\s+from\s+(?P<base>today|now|tomorrow|{_WD})\b"
)
_RELATIVE_DAY = re.compile(
    r"\b(?P<w>day after tomorrow|day before yesterday|tomorrow|tmrw|today|tonight|yesterday"
    r"|this (?:morning|afternoon|evening))\b"
)
_RELATIVE_OFFSETS = {"day after tomorrow": 2, "day before yesterday": -2, "tomorrow": 1}
_RELATIVE_OFFSETS |= {"tmrw": 1, "yesterday": -1}
_WEEK = re.compile(r"\b(?P<which>this|next|last)\s+week\b|\b(?:the\s+)?week\s+after\s+next\b")
_WEEKEND = re.compile(r"\b(?:(?P<which>this|next|the|coming)\s+)?weekend\b")
_MONTH_SPAN = re.compile(r"\b(?P<which>this|next)\s+month\b")
_WEEKDAY = re.compile(
    rf"\b(?:(?P<mod>this coming|this|next|last|coming|on)\s+)?(?P<wd>{_WD})s?\b"
    r"(?P<after>\s+after\s+next)?"
)

# Clock patterns. A bare number is a time only with a cue (see _read_clock).
_CLOCK = re.compile(
    r"(?:(?<!from )\b(?P<rel>half|quarter|5|10|20|25)\s+(?P<dir>past|after|to|till)\s+"
    r"(?P<rh>\d{1,2}|noon|midnight)\b"  # "half past 2", "10 to 6"
    r"|\b(?P<mil>(?:[01]?\d|2[0-3])[0-5]\d)\s*(?:hours|hrs)\b"  # "1500 hours"
    r"|\b(?P<h>\d{1,2})\b(?::(?P<m>[0-5]\d)\b)?"  # "3", "3:30", "15:00"
    r"|\b(?P<word>noon|midday|midnight)\b)"
    r"(?:\s*(?P<sfx>am|pm|oclock)\b)?"
)
_TIME_CUE_BEFORE = re.compile(
    r"\b(?:at|around|about|by|say|like|maybe|round|approximately|until|till|after|before|from"
    r"|between|not|make it|how about|what about)\s+(?:(?:about|around|like|maybe|say)\s+)?$"
)
_PERIOD_AFTER = re.compile(
    r"\s+(?:in\s+the\s+|at\s+|this\s+|tomorrow\s+)?(?:morning|afternoon|evening|night|tonight)\b"
)
_UNIT_AFTER = re.compile(
    r"\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|people|persons?|of|percent"
    r"|dollars?|haircuts?|kids|children|guests)\b"
)
_AFTER = re.compile(r"\b(?:after|from|later than)\s+(?:(?:about|around|like)\s+)?$")
_BEFORE = re.compile(r"\b(?:before|until|till|earlier than)\s+(?:(?:about|around|like)\s+)?$")
_BETWEEN = re.compile(r"\b(?:between|from)\s+(?:(?:about|around)\s+)?$")
_RANGE_JOIN = re.compile(r"\s+(?:and|to|till|until)\s+(?:(?:about|around)\s+)?")
_PART_OF_DAY = re.compile(
    r"(?<!good )(?<!last )\b(?P<p>morning|afternoon|evening|night|tonight)s?\b"
)
_LUNCH = re.compile(r"\b(?:(?P<bound>after|before)\s+)?lunch(?:\s*(?:time|hour|break))?\b")

# "not Tuesday", "can't do 3": the mention right after is a rejected option. After a bare "no"
# it may instead be the answer ("Tuesday? No, Wednesday"), so that is weaker (see _fold).
_NEGATED = re.compile(
    r"(?P<word>\bnot|\bno|n't|\bcant|\bcannot|\bnever)\s+"
    r"(?:(?:on|at|the|this|do|make|for|in|until|till|around|about|that|it)\s+){0,3}$"
)
# Words between two mentions that mean the second replaces the first rather than refining it.
_BREAK = re.compile(
    r"\b(?:no|not|actually|wait|instead|rather|or|but|sorry|make it|change|how about|what about)\b"
    r"|n't"
)


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _next_weekday(today: date, wd: int) -> date:
    """Nearest `wd` strictly after today: on a Wednesday, "Wednesday" means next week's."""
    return today + timedelta((wd - today.weekday() - 1) % 7 + 1)


def _next_month_day(today: date, month: int, d: int, year: int | None) -> date | None:
    """Next `month`/`d` not before today; skips years without it (Feb 29)."""
    for y in [year] if year else range(today.year, today.year + 9):
        if 1 <= d <= calendar.monthrange(y, month)[1] and (year or date(y, month, d) >= today):
            return date(y, month, d)
    return None


def _next_day_of_month(today: date, d: int) -> date | None:
    """Next date with day-of-month `d` not before today, skipping short months."""
    for n in range(13):
        first = _add_months(today.replace(day=1), n)
        last_day = calendar.monthrange(first.year, first.month)[1]
        if 1 <= d <= last_day and first.replace(day=d) >= today:
            return first.replace(day=d)
    return None


def _month_date(m: re.Match, today: date) -> dict | None:
    if "sfx" in m.groupdict() and not (m["sfx"] or m["of"]):
        return None  # "at 3 may I..." is not May 3rd; need "3rd May" or "3 of May"
    month = _MONTHS.get(m["mon"]) or int(m["mon"])
    year = int(m["y"]) if m["y"] else None
    if year is not None and year < 100:
        year += 2000
    day = _next_month_day(today, month, int(m["d"]), year)
    return day and {"day": day, "calendar_date": True, "past": day < today}


def _ordinal_day(m: re.Match, today: date) -> dict | None:
    day = _next_day_of_month(today, int(m["d"]))
    return day and {"day": day, "calendar_date": True}


def _offset(m: re.Match, today: date) -> dict:
    raw, unit = (m["n"], m["unit"]) if m["n"] else (m["n2"], m["unit2"])
    n = {"a": 1, "an": 1, "a couple of": 2}.get(raw) or int(raw)
    if unit == "month":
        return {"day": _add_months(today, n)}
    base = today
    if m["base"] == "tomorrow":
        base = today + timedelta(1)
    elif m["base"] in _WEEKDAYS:
        base = _next_weekday(today, _WEEKDAYS[m["base"]])
    return {"day": base + timedelta(n * (7 if unit == "week" else 1))}


def _relative_day(m: re.Match, today: date) -> dict:
    offset = _RELATIVE_OFFSETS.get(m["w"], 0)
    return {"day": today + timedelta(offset), "past": offset < 0}


def _week(m: re.Match, today: date) -> dict:
    which = m["which"] or "week after next"
    monday = today - timedelta(today.weekday())
    if which == "this":
        return {"days": (today, monday + timedelta(6))}
    start = monday + timedelta({"next": 7, "last": -7, "week after next": 14}[which])
    return {"days": (start, start + timedelta(6)), "past": which == "last"}


def _weekend(m: re.Match, today: date) -> dict:
    if m["which"] == "next":
        sat = today - timedelta(today.weekday()) + timedelta(12)  # Saturday of next week
    elif today.weekday() >= 5:  # already the weekend: the rest of it
        return {"days": (today, today + timedelta(6 - today.weekday()))}
    else:
        sat = _next_weekday(today, 5)
    return {"days": (sat, sat + timedelta(1))}


def _month_span(m: re.Match, today: date) -> dict:
    start = today if m["which"] == "this" else _add_months(today.replace(day=1), 1)
    return {"days": (start, start.replace(day=calendar.monthrange(start.year, start.month)[1]))}


def _weekday(m: re.Match, today: date) -> dict:
    wd = _WEEKDAYS[m["wd"]]
    if m["mod"] == "last":
        return {"day": today - timedelta((today.weekday() - wd - 1) % 7 + 1), "past": True}
    day = _next_weekday(today, wd) + timedelta(7 if m["after"] else 0)
    plain = m["mod"] in (None, "on") and not m["after"]
    return {"day": day, "weekday": wd if plain else None}


_DAY_RULES = [
    (_MONTH_FIRST, _month_date),
    (_DAY_FIRST, _month_date),
    (_NUMERIC_DATE, _month_date),
    (_ORDINAL_DAY, _ordinal_day),
    (_OFFSET, _offset),
    (_RELATIVE_DAY, _relative_day),
    (_WEEK, _week),
    (_WEEKEND, _weekend),
    (_MONTH_SPAN, _month_span),
    (_WEEKDAY, _weekday),
]


class _Taken:
    """The characters already read as part of a mention. A mask rather than a list of spans:
    checking a span costs its own length, not the number of mentions found so far (which made
    a long utterance quadratic)."""

    def __init__(self, length: int) -> None:
        self._mask = bytearray(length)

    def append(self, span: tuple[int, int]) -> None:
        start, end = span
        self._mask[start:end] = b"\x01" * (end - start)

    def overlaps(self, span: tuple[int, int]) -> bool:
        return 1 in self._mask[span[0] : span[1]]


def _overlaps(span: tuple[int, int], taken: _Taken) -> bool:
    return taken.overlaps(span)


def _scan_days(s: str, today: date, taken: _Taken) -> list[_Mention]:
    found = []
    for pattern, handler in _DAY_RULES:
        for m in pattern.finditer(s):
            if not _overlaps(m.span(), taken) and (fields := handler(m, today)):
                taken.append(m.span())
                found.append(_Mention(m.start(), m.end(), "day", **fields))
    return found


def _read_clock(m: re.Match, s: str, cued: bool) -> tuple[time, bool] | None:
    """(time, am/pm known) for one _CLOCK match, or None when it is not a time."""
    sfx = m["sfx"]
    if m["word"]:
        h, mi, explicit = (0 if m["word"] == "midnight" else 12), 0, True
    elif m["mil"]:
        (h, mi), explicit = divmod(int(m["mil"]), 100), True
    elif m["rel"]:
        base = {"noon": 12, "midnight": 0}.get(m["rh"])
        explicit = base is not None or int(m["rh"]) > 12
        base = int(m["rh"]) if base is None else base
        mins = {"half": 30, "quarter": 15}.get(m["rel"]) or int(m["rel"])
        if m["dir"] in ("past", "after"):
            h, mi = base, mins
        else:  # "quarter to 1" is 12:45
            h, mi = (base - 1) % 24, 60 - mins
            h = 12 if h == 0 and not explicit else h
    else:
        h, mi = int(m["h"]), int(m["m"] or 0)
        strong = m["m"] or sfx or _PERIOD_AFTER.match(s, m.end())
        if not (strong or cued) or (not (m["m"] or sfx) and _UNIT_AFTER.match(s, m.end())):
            return None  # "2 haircuts", "I'm 25", "for 30 minutes"
        if h > 23 or (h == 0 and not m["m"]):
            return None
        explicit = h > 12 or h == 0 or (len(m["h"]) == 2 and m["h"][0] == "0")  # 24h form
    if h > 23:
        return None
    if sfx in ("am", "pm") and 1 <= h <= 12:
        h, explicit = h % 12 + (12 if sfx == "pm" else 0), True
    return time(h, mi), explicit


def _range(a: tuple[time, bool], b: tuple[time, bool]) -> tuple[time, time]:
    """'between 2 and 4' -> 14:00-16:00: the most likely readings that keep start < end."""
    for start in plausible_times(*a):
        for end in plausible_times(*b):
            if start < end:
                return start, end
    return plausible_times(*a)[0], plausible_times(*b)[0]


def _scan_clock(s: str, expecting_time: bool, taken: _Taken) -> list[_Mention]:
    found = []
    for m in _CLOCK.finditer(s):
        if _overlaps(m.span(), taken):
            continue
        prefix = s[max(0, m.start() - 40) : m.start()]
        reading = _read_clock(m, s, expecting_time or bool(_TIME_CUE_BEFORE.search(prefix)))
        if reading is None:
            continue
        start, end = m.span()
        join = _RANGE_JOIN.match(s, end) if _BETWEEN.search(prefix) else None
        second = _CLOCK.match(s, join.end()) if join else None
        second_reading = (
            second and not _overlaps(second.span(), taken) and _read_clock(second, s, True)
        )
        if second_reading:
            end, fields = second.end(), {"window": _range(reading, second_reading)}
        elif _AFTER.search(prefix):
            fields = {"window": (plausible_times(*reading)[0], END_OF_DAY)}
        elif _BEFORE.search(prefix):
            fields = {"window": (time(0), plausible_times(*reading)[0])}
        else:
            fields = {"time": reading[0], "explicit": reading[1]}
        taken.append((start, end))
        found.append(_Mention(start, end, "clock", **fields))
    return found


def _scan_windows(s: str) -> list[_Mention]:
    found = []
    for m in _PART_OF_DAY.finditer(s):
        period = {"night": "evening", "tonight": "evening"}.get(m["p"], m["p"])
        found.append(_Mention(*m.span(), "clock", window=WINDOWS[period], period=period))
    for m in _LUNCH.finditer(s):
        window = {"after": AFTER_LUNCH, "before": BEFORE_LUNCH}.get(m["bound"], WINDOWS["lunch"])
        found.append(_Mention(*m.span(), "clock", window=window))
    return found


# --- 3. folding ---------------------------------------------------------------------------


def _merge_days(a: _Mention, b: _Mention) -> _Mention | None:
    """Combine two neighbouring day mentions, or None if the later one replaces the earlier."""
    for first, second in ((a, b), (b, a)):
        if first.weekday is not None and second.calendar_date:  # "Thursday the 3rd"
            return second
        if first.weekday is not None and second.days:  # "Tuesday next week"
            span = second.days
            day = span[0] + timedelta((first.weekday - span[0].weekday()) % 7)
            if day <= span[1]:
                return replace(second, day=day, days=None)
    return None


def _merge_clock(a: _Mention, b: _Mention) -> _Mention | None:
    """'tomorrow afternoon at 3' / '7 tonight': a part of day fixes am/pm of its time."""
    for period_m, time_m in ((a, b), (b, a)):
        if period_m.period and time_m.time is not None:
            if time_m.explicit:
                return time_m
            h = time_m.time.hour % 12 + (0 if period_m.period == "morning" else 12)
            return replace(time_m, time=time_m.time.replace(hour=h), explicit=True)
    return None


def _fold(mentions: list[_Mention], s: str, merge) -> _Mention | None:
    # The last positive mention wins. "Tuesday, not Wednesday": a "not" option is dropped when
    # any other option was given. "No, 3 pm" (answering "3 am?") is kept unless another follows.
    mentions = sorted(mentions, key=lambda m: m.start)
    options = [i for i, m in enumerate(mentions) if m.negated != "not"]
    kept = [
        m
        for i, m in enumerate(mentions)
        if (m.negated != "not" or not options) and (m.negated != "no" or i == options[-1])
    ]
    current = None
    for m in kept:
        gap = s[current.end : m.start] if current else ""
        merged = current and len(gap) <= 40 and not _BREAK.search(gap) and merge(current, m)
        current = (
            replace(merged, start=min(current.start, m.start), end=max(current.end, m.end))
            if merged
            else m
        )
    return current


def _parse(text: str, today: date, expecting_time: bool) -> WhenParse:
    s = _normalise(text)
    taken = _Taken(len(s))
    mentions = _scan_days(s, today, taken)
    mentions += _scan_clock(s, expecting_time, taken)
    mentions += _scan_windows(s)
    for m in mentions:
        if neg := _NEGATED.search(s[max(0, m.start - 40) : m.start]):
            m.negated = "no" if neg["word"] == "no" else "not"
    day = _fold([m for m in mentions if m.group == "day"], s, _merge_days)
    clock = _fold([m for m in mentions if m.group == "clock"], s, _merge_clock)
    return WhenParse(
        day=day and day.day,
        days=day and day.days,
        past=bool(day and day.past),
        time=clock and clock.time,
        ampm_explicit=bool(clock and clock.explicit),
        window=clock and clock.window,
    )


def parse_when(text: str, *, today: date, expecting_time: bool = False) -> WhenParse:
    """Find the date/time expressions in one caller utterance.

    `expecting_time`: the caller was just asked "what time?", so a bare "3" or "four" is a time.
    Never raises on any string input; returns an empty WhenParse when nothing is found.
    """
    if not isinstance(text, str) or not text.strip():
        return WhenParse()
    try:
        return _parse(text, today, expecting_time)
    except Exception:
        # A call must never crash on odd speech; treat it as "no date heard" and log for fixing.
        log.exception("parse_when failed on %r", text)
        return WhenParse()
