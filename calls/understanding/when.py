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
from datetime import date, datetime, time, timedelta

from calls.understanding import corrections

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
    # Only these weekdays within `days` ("any weekday", "Tuesdays", "Tuesday or Thursday").
    weekdays: frozenset[int] | None = None
    soonest: bool = False  # "now", "as soon as you can", "earliest you've got"
    # Relative to the time last offered or read back: "half an hour later" is +30 minutes;
    # "a bit earlier" / "the one after that" only give a direction (-1 / +1) in `nudge`.
    shift: timedelta | None = None
    nudge: int = 0
    # "next Thursday" (see _weekday) or "Wednesday" said on a Wednesday: another reading names
    # a different date, so the receptionist says the date it took.
    ambiguous: bool = False
    # A day was named in a way this grammar does not resolve ("the Friday before Christmas"):
    # nothing is guessed; the caller is asked which day they mean.
    unclear: bool = False
    # "Monday the 8th" when the 8th is a Tuesday: the date said, then the weekday said nearest
    # to it (Tuesday the 8th, Monday the 7th), for asking which.
    either: tuple[date, ...] = ()
    # "This morning at 12", "tomorrow morning at 12:30": 12 with a part of the day that does
    # not settle noon or midnight. No time is committed; this is the clock said (12:00,
    # 12:30), and the caller is asked which.
    twelve: time | None = None

    @property
    def is_empty(self) -> bool:
        return (
            self.twelve is None
            and self.day is None
            and self.days is None
            and self.time is None
            and self.window is None
            and not self.soonest
            and self.shift is None
            and not self.nudge
        )


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
    # "fifteen hundred (hours)" is 15:00
    return re.sub(r"\b(1?\d|2[0-3])\s+hundred\b(?!\s+(?:dollars|bucks|people))", r"\g<1>:00", s)


# Hesitations carry no meaning and would stand between a cue and its number ("at, um, 3").
_FILLERS = re.compile(r"\b(?:u+m+|u+h+|e+r+m*|a+h+|h+m+|you know|i guess)\b")
# "2-3pm", "10:30 - 12": a window. Not part of a longer run of digits (a date or a number).
_HYPHEN_RANGE = re.compile(
    r"(?<![\d:/-])\b(\d{1,2}(?::[0-5]\d)?(?:\s?[ap]m)?)\s*[-\u2013]\s*(\d{1,2}(?::[0-5]\d)?)\b"
    r"(?!\s*[-\u2013/]\s*\d)"
)
# "the 4 o'clock one", "the 3 pm one": "one" is the offer, not 1 o'clock.
# "10 am, sorry, pm": the am/pm alone corrects the time before it.
_AMPM_CORRECTION = re.compile(
    r"\b" + corrections.any_of(corrections.TAKE_BACK, corrections.WAIT) + r"\s+(?P<half>am|pm)\b"
)
_CLOCK_ONE = re.compile(r"\b(oclock|[ap]m|\d:[0-5]\d)\s+ones?\b")
# Said the other way round: "no later than 3" is "before 3".
_FLIPPED_BOUNDS = re.compile(r"\b(?:no later than|not after|not later than)\b")
_FLIPPED_AFTER = re.compile(r"\b(?:no earlier than|not before|not earlier than)\b")


def _normalise(text: str) -> str:
    s = text.lower().replace("\u2019", "'")
    s = _FILLERS.sub(" ", s).replace("@", " at ")
    s = re.sub(r"\bo\s*'?\s*clock\b", " oclock", s)
    s = re.sub(r"(?<![a-z])([ap])\.\s?m\b\.?", r" \1m", s)  # "3 p.m." / "3p.m" -> "3 pm"
    s = re.sub(r"(?<![\d$])(\d{1,2})\.([0-5]\d)\b", r"\1:\2", s)  # "3.30" -> "3:30"
    s = re.sub(r"(\d)([ap]m)\b", r"\1 \2", s)
    s = re.sub(r"\bin the ([ap]m)\b", r"\1", s)  # "3 in the pm"
    s = re.sub(r"(\d)\s*ish\b", r"\1", s)  # "3ish", "2-ish"
    s = _CLOCK_ONE.sub(r"\1", s)
    s = _HYPHEN_RANGE.sub(r" from \1 to \2 ", s)
    s = re.sub(r"\buntill\b", "until", s)
    s = re.sub(
        r"\b(?:in the )?early (?:in the morning|hours of the morning|hours)\b", "early morning", s
    )
    s = _FLIPPED_BOUNDS.sub("before", s)
    s = _FLIPPED_AFTER.sub("after", s)
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
    group: str  # "day", "clock", "shift" (relative to what was offered) or "soon"
    day: date | None = None
    days: tuple[date, date] | None = None
    past: bool = False
    weekday: int | None = None  # a plain weekday, so "next week on Tuesday" can combine
    weekdays: frozenset[int] | None = None  # "Tuesdays", "any weekday": only these in `days`
    calendar_date: bool = False  # "the 5th", "Dec 3": beats a weekday said next to it
    ambiguous: bool = False
    unclear: bool = False
    either: tuple[date, ...] = ()  # the readings of an unclear day, see WhenParse.either
    time: time | None = None
    explicit: bool = False
    window: tuple[time, time] | None = None
    period: str | None = None  # morning/afternoon/evening: can fix am/pm of a nearby time
    shift: timedelta | None = None
    nudge: int = 0
    negated: str | None = None  # "not" (rejects this option) or "no" (may reject the previous)
    rolls_over: bool = False  # "this evening at 12": midnight, the start of the next day
    twelve: time | None = None  # "this morning at 12": noon or midnight? (see WhenParse)


_WEEKDAYS = {"monday": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "weds": 2}
_WEEKDAYS |= {"thursday": 3, "thurs": 3, "thu": 3, "friday": 4, "fri": 4, "saturday": 5}
_WEEKDAYS |= {"sunday": 6}  # "mon", "wed", "sat", "sun" are too often other words
_WD = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
# Spelled out rather than calendar.month_name, which follows the server locale.
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES.split(), start=1)}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NTH = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "last": -1, "final": -1}

# Day patterns, applied in this order; a match may not overlap an earlier one.
# "the second Friday in January", "the last Friday of the month", "the first Monday next month".
# Without a month ("the second Friday") it is unclear which month is meant.
_NTH_WEEKDAY = re.compile(
    rf"\b(?:the\s+)?(?P<n>1st|2nd|3rd|4th|5th|last|final)\s+(?P<wd>{_WD})\b"
    rf"(?:\s+(?:(?:in|of)\s+(?P<mon>{_MON})\b(?:\s+(?P<y>\d{{4}})\b)?"
    r"|(?:(?:in|of)\s+)?(?P<which>this|next|the|that)\s+month\b))?"
)
# "the Friday before Christmas", "the day after": days this grammar does not work out. They are
# asked about rather than guessed.
_UNCLEAR_DAY = re.compile(
    r"\b(?:christmas|xmas|easter|thanksgiving|halloween|new years?|hanukkah|passover|ramadan"
    r"|diwali|valentines?|mothers day|fathers day|labou?r day|memorial day|holidays?|payday"
    r"|bank holiday|same day|that day|the other day|some ?day|(?:closest|nearest) \w+ to"
    r"|\d+(?:st|nd|rd|th) last (?:day|week)"
    rf"|the (?:day|week|weekend|{_WD}) (?:before|after)(?! (?:tomorrow|next|that|this)))\b"
)
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
# "late next month", "the end of this month", "early next week", "mid December", "later this week".
_PART_SPAN = re.compile(
    r"\b(?:(?:the|at the|by the|towards? the|around the|in the|for the)\s+)?"
    r"(?P<part>early|earlier|beginning|start|mid|middle|late|later|end|rest|back end)\s+"
    r"(?:(?:of|in)\s+)?(?:the\s+)?(?:around\s+)?"
    r"(?:(?P<which>this|current|next|coming|upcoming|following)\s+)?"
    rf"(?P<unit>month|week|{_MON})\b"
)
# "in January", "sometime in March": the whole month. A bare "may" is too often a verb.
_IN_MONTH = re.compile(
    rf"\b(?:in|during|sometime in|some time in|around)\s+(?P<mon>{_MON})\b(?!\s+(?:the\s+)?\d)"
)
# "July 13 to 15", "from the 13th to the 15th of July", "Aug 8 - Aug 12" (the hyphen is gone by
# now; "13-15" became "from 13 to 15"): the days in between, not one of the ends.
_TO = r"(?:to|thru|through|till|until|and)"
_DAY_RANGE = re.compile(
    rf"\b(?:(?:from|between)\s+)?(?:the\s+)?(?P<a1>\d{{1,2}})(?:st|nd|rd|th)?\s+{_TO}\s+(?:the\s+)?"
    rf"(?P<a2>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<amon>{_MON})\b"
    rf"|\b(?:(?:from|between)\s+)?(?P<bmon>{_MON})\s+(?:(?:from|between)\s+)?(?:the\s+)?"
    rf"(?P<b1>\d{{1,2}})(?P<s1>st|nd|rd|th)?\s+(?P<to>{_TO}\s+)?(?:(?P<bmon2>{_MON})\s+)?"
    rf"(?:the\s+)?(?P<b2>\d{{1,2}})(?P<s2>st|nd|rd|th)?\b(?!\s*(?::|[ap]m\b|oclock\b))"
)
# "the week of October 7th": the Monday-to-Sunday week of that date.
_WEEK_OF = re.compile(
    rf"\b(?:the\s+)?week\s+of\s+(?:the\s+)?(?:(?P<mon>{_MON})\s+(?:the\s+)?(?P<d>\d{{1,2}})"
    rf"(?:st|nd|rd|th)?|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<mon2>{_MON}))\b"
)
# "the 20th of next month", "20 of this month".
_DAY_OF_MONTH_SPAN = re.compile(
    r"\b(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:\s+day)?\s+of\s+(?:the\s+)?"
    r"(?P<which>this|next)\s+month\b"
)
# "Thu 15th": a weekday with a day of the month.
_WEEKDAY_DATE = re.compile(rf"\b(?P<wd>{_WD})\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)\b")
# "the first available", "the second one" are not days of the month.
_ORDINAL_DAY = re.compile(
    r"\b(?:the|on)\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b"
    r"(?!\s+(?:available|one|ones|thing|time|slot|opening|appointment|option|person|floor))"
)
_OFFSET = re.compile(
    r"\bin\s+(?:about\s+|around\s+)?(?P<n>a|an|a couple of|\d{1,3})\s+"
    r"(?P<unit>day|week|month|fortnight)s?"
    r"(?P<or>\s+or\s+(?:2|3|so))?\b"
    rf"|\b(?P<n2>a|\d{{1,2}})\s+(?P<unit2>day|week|fortnight|month)s?\s+"
    rf"(?:from\s+)?(?:right\s+)?(?P<base>today|now|tomorrow|{_WD})\b"
)
# "two Tuesdays from now": the second Tuesday to come.
_WEEKDAYS_AHEAD = re.compile(rf"\b(?P<n>a|1|2|3|4)\s+(?P<wd>{_WD})s?\s+(?:from now|from today)\b")
_RELATIVE_DAY = re.compile(
    r"\b(?P<w>day after tomorrow|day before yesterday|tomorrow|tmrw|today|tonight|yesterday"
    r"|this (?:morning|afternoon|evening))\b"
)
_RELATIVE_OFFSETS = {"day after tomorrow": 2, "day before yesterday": -2, "tomorrow": 1}
_RELATIVE_OFFSETS |= {"tmrw": 1, "yesterday": -1}
_WEEK = re.compile(
    r"(?<!\d )\b(?P<which>this|current|next|last|coming|upcoming|following)\s+week\b"
    r"|\b(?:the\s+)?week\s+after\s+next\b"
)
_WEEKEND = re.compile(r"\b(?:(?P<which>this|next|the|coming)\s+)?weekend\b(?!s)")
_MONTH_SPAN = re.compile(r"\b(?P<which>this|next)\s+month\b")
# "any weekday", "weekdays", "weekends", "during the week".
_WEEKDAY_SET = re.compile(r"\b(?P<kind>week ?days?|week ?nights?|weekends|during the week)\b")
# "Tuesdays", "any Tuesday", "Tuesday or Thursday": those weekdays, not one date.
_WEEKDAY_CHOICE = re.compile(
    rf"\b(?P<any>any|a|every)?\s*(?P<a>{_WD})(?P<pl>s)?\b"
    rf"(?:\s+or\s+(?:on\s+)?(?:a\s+)?(?P<b>{_WD})s?\b)?"
)
_WEEKDAY = re.compile(
    rf"\b(?:(?P<mod>this coming|this|next|last|coming|on)\s+)?(?P<wd>{_WD})s?\b"
    r"(?P<after>\s+after\s+next)?"
)
# "as soon as you can", "earliest you've got", "now": the first free times.
_SOONEST = re.compile(
    r"(?<!for )(?<!by )(?<!till )(?<!until )(?<!from )(?<!at the )(?<!i )"
    r"\b(?:right now|(?<!calling )(?<!ringing )(?<!phoning )(?<!just )now"
    r"(?!\s+(?:to|i|im|that|what|how|about|lets?|so|and|the|my|we|you|it|is|for|on)\b)"
    r"|right away|straight away|asap|a s a p|as soon as (?:possible|poss|you can"
    r"|i can|you have|youve got|you got|theres)|earliest|soonest|1st available"
    r"|next available|1st (?:open|free|opening|slot|spot)"
    r"|(?P<weak>whenever(?! (?:my|his|her|their|i|he|she|they|we|it)\b)|any ?time|any day))\b"
)

# Clock patterns. A bare number is a time only with a cue (see _read_clock).
_CLOCK = re.compile(
    r"(?:(?<!from )\b(?P<rel>half|quarter|\d{1,2}\s+minutes?|5|10|15|20|25"
    r"|\d{1,2}(?=\s+(?:to|till|past|after)\s+(?:noon|midnight)\b))\s+"
    r"(?P<dir>past|after|to|till)\s+(?P<rh>\d{1,2}|noon|midnight)\b"  # "half past 2", "10 to 6"
    r"|\b(?P<mil>(?:[01]?\d|2[0-3])[0-5]\d)\s*(?:hours|hrs)\b"  # "1500 hours"
    r"|\bhalf\s+(?P<halfh>1[0-2]|[1-9])\b(?!\s*(?::|hours?\b|hrs?\b|\d))"  # British "half two"
    # "3", "3:30", "15:00", and "10 30" / "2 15" as speech-to-text writes them
    r"|\b(?P<h>\d{1,2})(?:(?P<sep>:|\s)(?P<m>[0-5]\d))?\b"
    r"|\b(?P<hhmm>(?:1[0-2]|[1-9])[0-5]\d)\b"  # "at 1030", "730 in the evening"
    r"|\b(?P<word>noon|midday|midnight)\b)"
    r"(?:\s*(?P<sfx>am|pm|oclock(?:\s+[ap]m)?)\b)?"
)
_TIME_CUE_BEFORE = re.compile(
    r"\b(?:at|around|about|by|say|like|maybe|round|approximately|until|till|after|before|from"
    r"|between|not|make it|make that|how about|what about|or"
    # "move it to 4", "change my haircut to 3": a booking moved to a number is moved to a time.
    r"|(?:move|change|switch|push|bring|put|shift)\s+(?:it|that|this|(?:my|the)\s+\w+)\s+to)\s+"
    r"(?:(?:about|around|like|maybe|say)\s+)?$"
)
# After a clock time was heard, a number right after these words corrects it: "three, no wait,
# four"; "at 9, sorry, 10".
_CORRECTION_BEFORE = re.compile(
    r"\b"
    + corrections.any_of(
        corrections.REPLACING, ("nope", "or rather", "lets say", "better", "make it")
    )
    + r"\s+(?:"
    + corrections.any_of(
        corrections.TAKE_BACK,
        corrections.WAIT,
        ("make it", "make that", "say", "lets say", "like", "maybe", "at", "how about"),
        ("its", "it s", "uh"),
    )
    + r"\s+){0,3}$"
)
_PERIOD_AFTER = re.compile(
    r"\s+(?:in\s+the\s+|at\s+|this\s+|tomorrow\s+)?(?:morning|afternoon|evening|night|tonight)\b"
)
_UNIT_AFTER = re.compile(
    r"\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|people|persons?|of|percent"
    r"|dollars?|haircuts?|kids|children|guests|tuesdays?|mondays?|wednesdays?|thursdays?"
    r"|fridays?|saturdays?|sundays?)\b"
)
_AFTER = re.compile(
    r"\b(?:after|from|since|later than|any ?time after|not before)\s+(?:(?:about|around|like)\s+)?$"
)
_BEFORE = re.compile(
    r"\b(?:before|until|till|through|earlier than"
    r"|(?<!come )(?<!stop )(?<!drop )(?<!swing )(?<!pop )by)"
    r"\s+(?:(?:about|around|like)\s+)?$"
)
_BETWEEN = re.compile(r"\b(?:between|from)\s+(?:(?:about|around)\s+)?$")
_RANGE_JOIN = re.compile(r"\s+(?:and|to|till|until|or)\s+(?:(?:about|around|maybe|at)\s+)?")
# "8 am until 6", "3:30 to 6 pm": a window even without "from", once the first time is
# unmistakably a time ("10 to 6" alone is 5:50, read by _CLOCK itself).
_UNTIL_JOIN = re.compile(r"\s+(?:until|till|to|through|thru)\s+(?:(?:about|around)\s+)?")
# "4 pm for 30 minutes": a window of that length from the time.
_FOR_LENGTH = re.compile(r"\s+for\s+(?:(?:about|around)\s+)?")
# "18th Dec for 10 days", "for 10 days from the 18th": that many days from the day.
_DAYS_LENGTH = re.compile(r"\bfor\s+(?P<n>\d{1,2})\s+days\b")
# "after 9:30 but before 11": the two bounds make one window.
_BOUND_GAP = re.compile(r"\s*(?:but|and)\s+(?:before|until|till|by|earlier than)\s*")
_OR_JOIN = re.compile(r"\s+or\s+(?:(?:about|around|maybe|at)\s+)?")
_PART_OF_DAY = re.compile(
    r"(?<!good )(?<!last )\b(?:(?P<q>early|late|mid)\s+)?"
    r"(?P<p>morning|afternoon|evening|night|tonight)s?\b"
)
_QUALIFIED = {
    ("early", "morning"): (time(0), time(10)),
    ("late", "morning"): (time(10, 30), time(12)),
    ("mid", "morning"): (time(10), time(11, 30)),
    ("early", "afternoon"): (time(12), time(14, 30)),
    ("mid", "afternoon"): (time(13, 30), time(15, 30)),
    ("late", "afternoon"): (time(15), time(17)),
    ("early", "evening"): (time(17), time(19)),
}
_LUNCH = re.compile(r"\b(?:(?P<bound>after|before)\s+)?lunch(?:\s*(?:time|hour|break))?\b")
_OTHER_WINDOWS = re.compile(
    r"\b(?P<w>1st thing|after work|after school|end of the day|close of business"
    r"|end of business|after hours)\b"
)
_OTHER_WINDOW_TIMES = {
    "1st thing": (time(0), time(10)),  # number words are digits by now
    "after work": (time(17), END_OF_DAY),
    "after school": (time(15), WINDOWS["evening"][1]),
    "end of the day": (time(16), END_OF_DAY),
    "close of business": (time(16), END_OF_DAY),
    "end of business": (time(16), END_OF_DAY),
    "after hours": (time(18), END_OF_DAY),
}

# A length of time: "45 minutes", "an hour and a half", "half an hour", "a couple of hours".
_DURATION = re.compile(
    r"\b(?:(?P<half_h>half an? hour|an? half hour|an? half an hour)"
    r"|(?P<q_h>(?:a )?quarter (?:of )?an? hour)"
    r"|(?P<h>an?|\d{1,2}|a couple of|a couple|couple of|a few)(?P<h_half> and an? half)?"
    r" (?:hours?|hrs?)(?P<half2> and an? half)?(?: and (?P<hm>\d{1,2}) (?:minutes?|mins?))?"
    r"|(?P<m>\d{1,3}|a few|a couple of) (?:minutes?|mins?))\b"
)
_FROM_NOW_BEFORE = re.compile(r"\b(?:in|within)\s+(?:(?:about|around|like|roughly|maybe)\s+)?$")
_FROM_NOW_AFTER = re.compile(r"\s+from now\b")
# "15 minutes after 1 pm": counted from a clock time the caller said.
_FROM_CLOCK = re.compile(r"\s+(?P<dir>from|after|past|before)\s+(?!now\b)")
_SHIFT_AFTER = re.compile(r"\s+(?P<dir>later|earlier|sooner|after that|before that)\b")
# "push it back 30 minutes", "bring my manicure forward by an hour": the direction said before.
_SHIFT_BEFORE = re.compile(
    r"\b(?:push|pushed|put|move|moved|shift|bump|set|bring|brought|knock)"
    r"(?:\s+(?:it|that|this|me|my|the|our|\w+))?(?:\s+\w+)?"
    r"\s+(?P<dir>back|forward|forwards|up|later|earlier)\s+(?:by\s+)?(?:(?:about|around|like)\s+)?$"
)
# "a bit earlier", "anything later?", "the one after that": a direction, no amount.
_NUDGE = re.compile(
    r"\b(?P<dir>later|earlier|sooner)\b(?!\s+(?:this|that|today|tonight|on|in the|than))"
    r"|\b(?:the\s+)?(?:1|one|slot|time|appointment)\s+(?P<dir2>after|before)\s+(?:that|this|it)\b"
    r"|\b(?:the\s+)?next (?:1|one|slot|time)\b"
)
# "later" here is not about the booking: "I'll call back later", "talk to you later".
_NOT_A_NUDGE = re.compile(r"\b(?:call|ring|talk|speak|see|catch|back|you|try|maybe)\s+(?:\w+\s+)?$")


# "not Tuesday", "can't do 3": the mention right after is a rejected option. After a bare "no"
# it may instead be the answer ("Tuesday? No, Wednesday"), so that is weaker (see _fold).
_NEGATED = re.compile(
    r"(?P<word>\bnot|\bno|n't|\bcant|\bcannot|\bnever)\s+"
    r"(?:(?:on|at|the|this|do|make|for|in|until|till|around|about|that|it)\s+){0,3}$"
)
# Words between two mentions that mean the second replaces the first rather than refining it.
_BREAK = re.compile(
    r"\b(?:no|not|actually|wait|instead|rather|or|but|sorry|make it|change|how about|what about"
    r"|i mean|scratch that)\b|n't"
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


def _month_of(today: date, month: int, year: int | None = None) -> tuple[date, date]:
    """The named month's first and last day: this year's unless it is over."""
    if year is None:
        year = today.year if month >= today.month else today.year + 1
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _span(first: date, last: date, today: date) -> dict:
    """A span of days from today on; one wholly gone is marked past."""
    if last < today:
        return {"days": (first, last), "past": True}
    return {"days": (max(first, today), last)}


def _nth_weekday_of(year: int, month: int, wd: int, n: int) -> date | None:
    if n < 0:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta((last.weekday() - wd) % 7)
    first = date(year, month, 1)
    day = first + timedelta((wd - first.weekday()) % 7 + 7 * (n - 1))
    return day if day.month == month else None


def _nth_weekday(m: re.Match, today: date) -> dict | None:
    wd, n = _WEEKDAYS[m["wd"]], _NTH[m["n"]]
    if m["mon"]:
        month = _MONTHS[m["mon"]]
        years = [int(m["y"])] if m["y"] else [today.year, today.year + 1]
        for year in years:
            day = _nth_weekday_of(year, month, wd, n)
            if day and (m["y"] or day >= today):
                return {"day": day, "calendar_date": True, "past": day < today}
        return {"unclear": True}  # "the fifth Monday in February"
    if m["which"] is None:
        # "last Monday" is a past day (_WEEKDAY); "the second Friday": of which month?
        return None if n < 0 else {"unclear": True}
    first = today.replace(day=1)
    if m["which"] == "next":
        first = _add_months(first, 1)
    day = _nth_weekday_of(first.year, first.month, wd, n)
    if day is None:
        return {"unclear": True}
    return {"day": day, "calendar_date": True, "past": day < today}


def _unclear(m: re.Match, today: date) -> dict:
    return {"unclear": True}


def _month_date(m: re.Match, today: date) -> dict | None:
    if "sfx" in m.groupdict() and not (m["sfx"] or m["of"]):
        return None  # "at 3 may I..." is not May 3rd; need "3rd May" or "3 of May"
    month = _MONTHS.get(m["mon"]) or int(m["mon"])
    year = int(m["y"]) if m["y"] else None
    if year is not None and year < 100:
        year += 2000
    day = _next_month_day(today, month, int(m["d"]), year)
    return day and {"day": day, "calendar_date": True, "past": day < today}


_EARLY, _MID, _LATE = (
    ("early", "beginning", "start"),
    ("mid", "middle"),
    ("late", "end", "back end"),
)


def _part_span(m: re.Match, today: date) -> dict | None:
    part, unit = m["part"], m["unit"]
    which = {"current": "this", "coming": "next", "upcoming": "next", "following": "next"}.get(
        m["which"], m["which"]
    )
    if part == "earlier":
        part = "early"
    if unit == "week":
        monday = today - timedelta(today.weekday())
        if which == "next":
            monday += timedelta(7)
        first, last = monday, monday + timedelta(6)
        thirds = {_EARLY: (0, 1), _MID: (1, 3), _LATE: (4, 6)}  # the end: Friday to Sunday
    else:
        if unit == "month":
            first = today.replace(day=1)
            if which == "next":
                first = _add_months(first, 1)
            first, last = first, _month_of(today, first.month, first.year)[1]
        elif which is not None:
            return None  # "late next March": not a way people talk
        else:
            first, last = _month_of(today, _MONTHS[unit])
        n = last.day
        thirds = {_EARLY: (0, 9), _MID: (10, 19), _LATE: (20 if part == "late" else n - 7, n - 1)}
    if part in ("later", "rest"):
        if first > today:
            part = "late" if part == "later" else "rest"
        if part == "rest":
            return _span(first, last, today)
        if part == "later":
            return _span(today + timedelta(1), last, today)
    for names, (a, b) in thirds.items():
        if part in names:
            return _span(first + timedelta(a), first + timedelta(b), today)
    return None


def _in_month(m: re.Match, today: date) -> dict:
    return _span(*_month_of(today, _MONTHS[m["mon"]]), today)


def _day_of_month_span(m: re.Match, today: date) -> dict:
    first = today.replace(day=1)
    if m["which"] == "next":
        first = _add_months(first, 1)
    if not 1 <= int(m["d"]) <= calendar.monthrange(first.year, first.month)[1]:
        return {"unclear": True}
    day = first.replace(day=int(m["d"]))
    return {"day": day, "calendar_date": True, "past": day < today}


def _day_range(m: re.Match, today: date) -> dict | None:
    if m["amon"]:
        first_month = last_month = _MONTHS[m["amon"]]
        a, b = int(m["a1"]), int(m["a2"])
    else:
        if not (m["to"] or m["bmon2"] or (m["s1"] and m["s2"])):
            return None  # "May 3 4": not a range anyone says without a "to"
        first_month = _MONTHS[m["bmon"]]
        last_month = _MONTHS[m["bmon2"]] if m["bmon2"] else first_month
        a, b = int(m["b1"]), int(m["b2"])
    first = _next_month_day(today, first_month, a, None)
    if first is None:
        return None
    year = first.year + (1 if last_month < first_month else 0)
    if not 1 <= b <= calendar.monthrange(year, last_month)[1]:
        return None
    last = date(year, last_month, b)
    if last <= first:
        return None
    return _span(first, last, today)


def _week_of(m: re.Match, today: date) -> dict | None:
    month, d = (m["mon"], m["d"]) if m["mon"] else (m["mon2"], m["d2"])
    day = _next_month_day(today, _MONTHS[month], int(d), None)
    if day is None:
        return None
    # A Sunday starts the week that follows, as on calendars whose weeks begin on Sunday.
    monday = day - timedelta(day.weekday()) + timedelta(7 if day.weekday() == 6 else 0)
    return _span(monday, monday + timedelta(6), today)


def _weekday_date(m: re.Match, today: date) -> dict:
    day = _next_day_of_month(today, int(m["d"]))
    if day is None:
        return {"unclear": True}
    if day.weekday() != _WEEKDAYS[m["wd"]]:
        # "Thursday the 4th" when the 4th is a Friday: which?
        return {"unclear": True, "either": _either(day, _WEEKDAYS[m["wd"]])}
    return {"day": day, "calendar_date": True}


def _either(day: date, weekday: int) -> tuple[date, date]:
    """The date said, then the weekday said nearest to it (within 3 days; may be past)."""
    return day, day + timedelta(days=(weekday - day.weekday() + 3) % 7 - 3)


def _ordinal_day(m: re.Match, today: date) -> dict | None:
    day = _next_day_of_month(today, int(m["d"]))
    return day and {"day": day, "calendar_date": True}


def _offset(m: re.Match, today: date) -> dict:
    raw, unit = (m["n"], m["unit"]) if m["n"] else (m["n2"], m["unit2"])
    n = {"a": 1, "an": 1, "a couple of": 2}.get(raw) or int(raw)
    if unit == "fortnight":
        unit, n = "week", 2 * n
    if unit == "month":
        day = _add_months(today + timedelta(1) if m["base"] == "tomorrow" else today, n)
        if m["or"]:
            return {"days": (day, _add_months(today, n + 1))}
        return {"day": day}
    base = today
    if m["base"] == "tomorrow":
        base = today + timedelta(1)
    elif m["base"] in _WEEKDAYS:
        base = _next_weekday(today, _WEEKDAYS[m["base"]])
    step = 7 if unit == "week" else 1
    day = base + timedelta(n * step)
    if m["or"]:  # "in a week or two", "in 2 or 3 days"
        return {"days": (day, base + timedelta((n + 1) * step))}
    return {"day": day}


def _weekdays_ahead(m: re.Match, today: date) -> dict:
    n = 1 if m["n"] == "a" else int(m["n"])
    return {"day": _next_weekday(today, _WEEKDAYS[m["wd"]]) + timedelta(7 * (n - 1))}


def _relative_day(m: re.Match, today: date) -> dict:
    offset = _RELATIVE_OFFSETS.get(m["w"], 0)
    return {"day": today + timedelta(offset), "past": offset < 0}


def _week(m: re.Match, today: date) -> dict:
    which = m["which"] or "week after next"
    # "the coming week" is the week that comes next; "this coming Monday" is another rule.
    which = {"current": "this", "coming": "next", "upcoming": "next"}.get(which, which)
    which = {"following": "next"}.get(which, which)
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


SEARCH_DAYS = 14  # how far ahead "any weekday" or "Tuesdays" looks


def _weekday_set(m: re.Match, today: date) -> dict:
    weekend = m["kind"] == "weekends"
    days = frozenset({5, 6} if weekend else range(5))
    return {"days": (today, today + timedelta(SEARCH_DAYS - 1)), "weekdays": days}


def _weekday_choice(m: re.Match, today: date) -> dict | None:
    if not (m["any"] in ("any", "every") or m["pl"] or m["b"]):
        return None  # one weekday: _WEEKDAY
    days = frozenset(_WEEKDAYS[w] for w in (m["a"], m["b"]) if w)
    return {"days": (today, today + timedelta(SEARCH_DAYS - 1)), "weekdays": days}


def _weekday(m: re.Match, today: date) -> dict:
    wd = _WEEKDAYS[m["wd"]]
    if m["mod"] == "last":
        return {"day": today - timedelta((today.weekday() - wd - 1) % 7 + 1), "past": True}
    day = _next_weekday(today, wd) + timedelta(7 if m["after"] else 0)
    plain = m["mod"] in (None, "on") and not m["after"]
    # One rule everywhere: "next Thursday" is the first Thursday after today, like "Thursday".
    # When that falls in this calendar week, some callers meant the week after; a weekday
    # said on that same weekday might mean today. Either way the date is said back.
    this_week = day.isocalendar()[:2] == today.isocalendar()[:2]
    ambiguous = (m["mod"] == "next" and this_week) or (
        wd == today.weekday() and m["mod"] in (None, "on", "this") and not m["after"]
    )
    return {"day": day, "weekday": wd if plain else None, "ambiguous": ambiguous}


_DAY_RULES = [
    (_NTH_WEEKDAY, _nth_weekday),
    (_UNCLEAR_DAY, _unclear),
    (_DAY_RANGE, _day_range),
    (_WEEK_OF, _week_of),
    (_MONTH_FIRST, _month_date),
    (_DAY_FIRST, _month_date),
    (_NUMERIC_DATE, _month_date),
    (_DAY_OF_MONTH_SPAN, _day_of_month_span),
    (_WEEKDAY_DATE, _weekday_date),
    (_PART_SPAN, _part_span),
    (_IN_MONTH, _in_month),
    (_ORDINAL_DAY, _ordinal_day),
    (_OFFSET, _offset),
    (_WEEKDAYS_AHEAD, _weekdays_ahead),
    (_RELATIVE_DAY, _relative_day),
    (_WEEK, _week),
    (_WEEKEND, _weekend),
    (_MONTH_SPAN, _month_span),
    (_WEEKDAY_SET, _weekday_set),
    (_WEEKDAY_CHOICE, _weekday_choice),
    (_WEEKDAY, _weekday),
]


class _Taken:
    """Which characters a mention already covers: a flag per character, so checking a match is
    proportional to its own length and a long utterance stays linear."""

    def __init__(self, length: int) -> None:
        self._flags = bytearray(length)

    def overlaps(self, span: tuple[int, int]) -> bool:
        return any(self._flags[span[0] : span[1]])

    def add(self, span: tuple[int, int]) -> None:
        self._flags[span[0] : span[1]] = b"\x01" * (span[1] - span[0])


def _scan_days(s: str, today: date, taken: _Taken) -> list[_Mention]:
    found = []
    for pattern, handler in _DAY_RULES:
        for m in pattern.finditer(s):
            if not taken.overlaps(m.span()) and (fields := handler(m, today)):
                taken.add(m.span())
                found.append(_Mention(m.start(), m.end(), "day", **fields))
    for m in _DAYS_LENGTH.finditer(s):  # "18th Dec for 10 days"
        for i, day in enumerate(found):
            near = s[day.end : m.start()] if day.end <= m.start() else s[m.end() : day.start]
            if day.day and int(m["n"]) > 1 and re.fullmatch(r"\s*(?:from\s+)?(?:the\s+)?", near):
                last = day.day + timedelta(int(m["n"]) - 1)
                found[i] = replace(day, day=None, days=(day.day, last), calendar_date=False)
                taken.add(m.span())
    return found


def _minutes(m: re.Match) -> int | None:
    """Length of a _DURATION match in minutes; None when it is vague ("a few minutes")."""
    if m["half_h"]:
        return 30
    if m["q_h"]:
        return 15
    if m["m"]:
        return 2 if m["m"] == "a couple of" else int(m["m"]) if m["m"].isdigit() else None
    hours = {"a": 1, "an": 1, "a couple of": 2, "a couple": 2, "couple of": 2}.get(m["h"])
    if hours is None:
        if not m["h"].isdigit():
            return None
        hours = int(m["h"])
    extra = 30 if m["h_half"] or m["half2"] else int(m["hm"] or 0)
    return hours * 60 + extra


def _scan_durations(s: str, today: date, now: time | None, taken: _Taken) -> list[_Mention]:
    """ "in 45 minutes" (from now) and "half an hour later" (from what was offered)."""
    found = []
    for m in _DURATION.finditer(s):
        minutes = _minutes(m)
        start, end = m.span()
        pushed = _SHIFT_BEFORE.search(s, max(0, start - 60), start)
        if pushed and minutes is not None and not _SHIFT_AFTER.match(s, end):
            earlier = pushed["dir"] in ("forward", "forwards", "up", "earlier")
            delta = timedelta(minutes=-minutes if earlier else minutes)
            found.append(_Mention(pushed.start("dir"), end, "shift", shift=delta))
            taken.add((pushed.start("dir"), end))
            continue
        if shift := _SHIFT_AFTER.match(s, end):
            earlier = shift["dir"] in ("earlier", "sooner", "before that")
            end = shift.end()
            if minutes is None:  # "a few minutes later"
                found.append(_Mention(start, end, "shift", nudge=-1 if earlier else 1))
            else:
                delta = timedelta(minutes=-minutes if earlier else minutes)
                found.append(_Mention(start, end, "shift", shift=delta))
            taken.add((start, end))
            continue
        if minutes is not None and (join := _FROM_CLOCK.match(s, end)):
            clock = _CLOCK.match(s, join.end())
            reading = clock and _read_clock(clock, s, True)
            if reading:
                base = datetime.combine(today, plausible_times(*reading)[0])
                delta = timedelta(minutes=minutes)
                moment = base - delta if join["dir"] == "before" else base + delta
                taken.add((start, clock.end()))
                found.append(
                    _Mention(start, clock.end(), "clock", time=moment.time(), explicit=True)
                )
                continue
        before = _FROM_NOW_BEFORE.search(s, max(0, start - 30), start)
        after = _FROM_NOW_AFTER.match(s, end)
        if not (before or after):
            continue
        start, end = (before.start() if before else start), (after.end() if after else end)
        taken.add((start, end))
        if minutes is None or now is None:
            # "In a few minutes" is as soon as can be; "in a few hours", or no clock to count
            # from: nothing is guessed.
            if minutes is None and m["m"]:
                found.append(_Mention(start, end, "soon"))
            continue
        moment = datetime.combine(today, now.replace(second=0, microsecond=0))
        moment += timedelta(minutes=minutes)
        found.append(_Mention(start, end, "day", day=moment.date()))
        found.append(_Mention(start, end, "clock", time=moment.time(), explicit=True))
    return found


def _scan_nudges(s: str, taken: _Taken) -> list[_Mention]:
    found = []
    for m in _NUDGE.finditer(s):
        if taken.overlaps(m.span()):
            continue
        if m["dir"] and _NOT_A_NUDGE.search(s, max(0, m.start() - 25), m.start()):
            continue
        direction = m["dir"] or m["dir2"] or "after"
        earlier = direction in ("earlier", "sooner", "before")
        taken.add(m.span())
        found.append(_Mention(*m.span(), "shift", nudge=-1 if earlier else 1))
    return found


def _scan_soonest(s: str, taken: _Taken) -> list[_Mention]:
    found = []
    for m in _SOONEST.finditer(s):
        if not taken.overlaps(m.span()):
            taken.add(m.span())
            # "any time after 5" is a window, not a rush: weak words count only alone.
            found.append(_Mention(*m.span(), "soon", period="weak" if m["weak"] else None))
    return found


def _read_clock(m: re.Match, s: str, cued: bool) -> tuple[time, bool] | None:
    """(time, am/pm known) for one _CLOCK match, or None when it is not a time."""
    sfx = m["sfx"] and m["sfx"][-2:]  # "3 oclock am" is 3 am
    if m["hhmm"]:
        h, mi = divmod(int(m["hhmm"]), 100)
        if not (sfx or cued or _PERIOD_AFTER.match(s, m.end())) or _UNIT_AFTER.match(s, m.end()):
            return None  # "for 130 dollars"
        explicit = False
    elif m["word"]:
        h, mi, explicit = (0 if m["word"] == "midnight" else 12), 0, True
    elif m["halfh"]:  # "half two" is half past two
        h, mi, explicit = int(m["halfh"]), 30, False
    elif m["mil"]:
        (h, mi), explicit = divmod(int(m["mil"]), 100), True
    elif m["rel"]:
        base = {"noon": 12, "midnight": 0}.get(m["rh"])
        explicit = base is not None or int(m["rh"]) > 12
        base = int(m["rh"]) if base is None else base
        mins = {"half": 30, "quarter": 15}.get(m["rel"]) or int(m["rel"].split()[0])
        if not 0 < mins < 60:
            return None
        if m["dir"] in ("past", "after"):
            h, mi = base, mins
        else:  # "quarter to 1" is 12:45
            h, mi = (base - 1) % 24, 60 - mins
            h = 12 if h == 0 and not explicit else h
    else:
        h, mi = int(m["h"]), int(m["m"] or 0)
        strong = m["m"] or sfx or _PERIOD_AFTER.match(s, m.end())
        if not (strong or cued) or (
            not (m["m"] and m["sep"] == ":") and not sfx and _UNIT_AFTER.match(s, m.end())
        ):
            return None  # "2 haircuts", "I'm 25", "for 30 minutes", "2 15 minute slots"
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


def _inclusive(window: tuple[time, time]) -> tuple[time, time]:
    """'at 3 or 4': starting at 4 is fine too, so the window reaches just past it."""
    end = (datetime.combine(date.min, window[1]) + timedelta(minutes=1)).time()
    return window[0], max(end, window[1])


def _scan_clock(s: str, expecting_time: bool, taken: _Taken) -> list[_Mention]:
    found = []
    for m in _CLOCK.finditer(s):
        if taken.overlaps(m.span()):
            continue
        prefix = s[max(0, m.start() - 40) : m.start()]
        cued = (
            expecting_time
            or bool(_TIME_CUE_BEFORE.search(prefix))
            or bool(found and _CORRECTION_BEFORE.search(prefix))
        )
        reading = _read_clock(m, s, cued)
        if reading is None:
            continue
        start, end = m.span()
        between = _BETWEEN.search(prefix)
        join = (_RANGE_JOIN if between else _OR_JOIN).match(s, end)
        strong = m["m"] or m["sfx"] or m["mil"] or m["word"]
        if not join and not between and strong and not _BEFORE.search(prefix):
            join = _UNTIL_JOIN.match(s, end)
            between = join and _UNTIL_JOIN
        second = _CLOCK.match(s, join.end()) if join else None
        second_reading = (
            second and not taken.overlaps(second.span()) and _read_clock(second, s, True)
        )
        if second_reading and second_reading[1] and not reading[1] and reading[0].hour < 12:
            # "2 to 3 pm", "9 or 10 am": the am/pm said once is meant for both.
            first = reading[0]
            if second_reading[0].hour >= 12 and first.hour + 12 <= second_reading[0].hour:
                first = first.replace(hour=first.hour + 12)
            reading = (first, True)
        length = (
            not second_reading
            and (joined := _FOR_LENGTH.match(s, end))
            and (duration := _DURATION.match(s, joined.end()))
            and _minutes(duration)
        )
        if second_reading:
            window = _range(reading, second_reading)
            if not between:
                window = _inclusive(window)
            end, fields = second.end(), {"window": window}
        elif length:
            begin = datetime.combine(date.min, plausible_times(*reading)[0])
            until = min(begin + timedelta(minutes=length), datetime.combine(date.min, END_OF_DAY))
            end, fields = duration.end(), {"window": (begin.time(), until.time())}
        elif _AFTER.search(prefix):
            fields = {"window": (plausible_times(*reading)[0], END_OF_DAY)}
        elif _BEFORE.search(prefix):
            fields = {"window": (time(0), plausible_times(*reading)[0])}
        else:
            fields = {"time": reading[0], "explicit": reading[1]}
        taken.add((start, end))
        found.append(_Mention(start, end, "clock", **fields))
    return found


def _scan_windows(s: str, taken: _Taken) -> list[_Mention]:
    found = []
    for m in _OTHER_WINDOWS.finditer(s):
        if not taken.overlaps(m.span()):
            taken.add(m.span())
            found.append(_Mention(*m.span(), "clock", window=_OTHER_WINDOW_TIMES[m["w"]]))
    for m in _PART_OF_DAY.finditer(s):  # "tonight" is a day and a part of it
        period = {"night": "evening", "tonight": "evening"}.get(m["p"], m["p"])
        window = _QUALIFIED.get((m["q"], period), WINDOWS[period])
        found.append(_Mention(*m.span(), "clock", window=window, period=period))
    for m in _LUNCH.finditer(s):
        window = {"after": AFTER_LUNCH, "before": BEFORE_LUNCH}.get(m["bound"], WINDOWS["lunch"])
        found.append(_Mention(*m.span(), "clock", window=window))
    return found


# --- 3. folding ---------------------------------------------------------------------------


def _merge_days(a: _Mention, b: _Mention) -> _Mention | None:
    """Combine two neighbouring day mentions, or None if the later one replaces the earlier."""
    if a.unclear or b.unclear:  # "the Friday after December 3rd": still unclear
        return b if b.unclear else a
    for first, second in ((a, b), (b, a)):
        if first.weekday is not None and second.calendar_date and second.day:
            if second.day.weekday() != first.weekday:  # "Thursday the 4th" (a Friday)
                either = _either(second.day, first.weekday)
                return replace(second, day=None, unclear=True, either=either)
            return second
        if first.weekday is not None and second.days:  # "Tuesday next week"
            span = second.days
            day = span[0] + timedelta((first.weekday - span[0].weekday()) % 7)
            if day <= span[1]:
                return replace(second, day=day, days=None, weekdays=None)
            return replace(second, days=None, unclear=True)
        if first.weekdays and second.days and not second.weekdays:  # "a weekday next week"
            return replace(second, weekdays=first.weekdays)
    if a.day and b.day and (a.weekday is not None or b.weekday is not None):
        plain, other = (a, b) if a.weekday is not None else (b, a)
        if other.day.weekday() == plain.weekday:  # "tomorrow, Thursday"
            return other
        return replace(other, day=None, unclear=True)  # "in 2 weeks on Friday": which Friday?
    return None


def _merge_clock(a: _Mention, b: _Mention) -> _Mention | None:
    """'tomorrow afternoon at 3' / '7 tonight': a part of day fixes am/pm of its time."""
    for period_m, time_m in ((a, b), (b, a)):
        if period_m.period and time_m.time is not None:
            if time_m.explicit and period_m.period == "evening" and time_m.time.hour == 0:
                return replace(time_m, rolls_over=True)  # "midnight tonight": the next day's
            if time_m.explicit:
                return time_m
            if period_m.period == "evening" and time_m.time.hour == 12:
                # "This evening at 12" is midnight, never noon; the schedule says it's closed.
                midnight = time_m.time.replace(hour=0)
                return replace(time_m, time=midnight, explicit=True, rolls_over=True)
            if period_m.period == "morning" and time_m.time.hour == 12:
                # "This morning at 12": noon, or the midnight that starts the morning? Asked.
                return replace(time_m, time=None, explicit=False, twelve=time_m.time)
            h = time_m.time.hour % 12 + (0 if period_m.period == "morning" else 12)
            return replace(time_m, time=time_m.time.replace(hour=h), explicit=True)
        after, before = period_m.window, time_m.window
        # "after 9:30 but before 11": the two open bounds make one window.
        if (
            after
            and before
            and after[1] == END_OF_DAY
            and before[0] == time(0) < after[0] < before[1]
        ):
            return replace(time_m, window=(after[0], before[1]))
        if period_m.period and time_m.window and period_m.window:
            # "afternoons after 3": the narrower of the two
            low = max(period_m.window[0], time_m.window[0])
            high = min(period_m.window[1], time_m.window[1])
            if low < high:
                return replace(time_m, window=(low, high))
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
        joinable = not _BREAK.search(gap) or _BOUND_GAP.fullmatch(gap)
        merged = current and len(gap) <= 40 and joinable and merge(current, m)
        current = (
            replace(merged, start=min(current.start, m.start), end=max(current.end, m.end))
            if merged
            else m
        )
    return current


def _keep_last(a: _Mention, b: _Mention) -> None:
    return None


def _parse(text: str, today: date, expecting_time: bool, now: time | None = None) -> WhenParse:
    s = _normalise(text)
    taken = _Taken(len(s))
    mentions = _scan_durations(s, today, now, taken)
    mentions += _scan_days(s, today, taken)
    mentions += _scan_windows(s, taken)
    mentions += _scan_nudges(s, taken)
    mentions += _scan_clock(s, expecting_time, taken)
    mentions += _scan_soonest(s, taken)
    for m in mentions:
        if neg := _NEGATED.search(s[max(0, m.start - 40) : m.start]):
            m.negated = "no" if neg["word"] == "no" else "not"
    day = _fold([m for m in mentions if m.group == "day"], s, _merge_days)
    clock = _fold([m for m in mentions if m.group == "clock"], s, _merge_clock)
    shift = _fold([m for m in mentions if m.group == "shift"], s, _keep_last)
    soon = _fold([m for m in mentions if m.group == "soon"], s, _keep_last)
    if soon is not None and soon.period == "weak" and (day or clock):
        soon = None
    if clock is not None and clock.time is not None:
        flips = list(_AMPM_CORRECTION.finditer(s, clock.end))
        if flips:
            flip = flips[-1]
            hour = clock.time.hour % 12 + (12 if flip["half"] == "pm" else 0)
            clock = replace(clock, time=clock.time.replace(hour=hour), explicit=True)
    if clock is not None and clock.rolls_over and day is not None and day.day is not None:
        day = replace(day, day=day.day + timedelta(days=1), ambiguous=True)
    if day is not None and day.unclear:
        return WhenParse(
            time=clock and clock.time,
            ampm_explicit=bool(clock and clock.explicit),
            window=clock and clock.window,
            unclear=True,
            either=day.either,
        )
    return WhenParse(
        day=day and day.day,
        days=day and day.days,
        past=bool(day and day.past),
        weekdays=day and day.weekdays,
        ambiguous=bool(day and day.ambiguous),
        time=clock and clock.time,
        ampm_explicit=bool(clock and clock.explicit),
        window=clock and clock.window,
        soonest=soon is not None,
        shift=shift and shift.shift,
        nudge=shift.nudge if shift else 0,
        twelve=clock and clock.twelve,
    )


def parse_when(
    text: str, *, today: date, expecting_time: bool = False, now: time | None = None
) -> WhenParse:
    """Find the date/time expressions in one caller utterance.

    `expecting_time`: the caller was just asked "what time?", so a bare "3" or "four" is a time.
    `now`: the local time of day, for "in 45 minutes"; without it such phrases are not guessed.
    Never raises on any string input; returns an empty WhenParse when nothing is found.
    """
    if not isinstance(text, str) or not text.strip():
        return WhenParse()
    try:
        return _parse(text, today, expecting_time, now)
    except Exception:
        # A call must never crash on odd speech; treat it as "no date heard" and log for fixing.
        log.exception("parse_when failed on %r", text)
        return WhenParse()
