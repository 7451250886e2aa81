"""Table tests for the spoken date/time grammar in calls.understanding.when."""

from datetime import date, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calls.understanding.when import WhenParse, _parse, parse_when, plausible_times

TODAY = date(2026, 11, 25)  # a Wednesday
assert TODAY.weekday() == 2

MORNING = (time(9), time(12))
AFTERNOON = (time(12), time(17))
EVENING = (time(17), time(21))
LUNCH = (time(11, 30), time(14))
LATE = time(23, 59)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def at(hour: int, minute: int = 0, explicit: bool = False, **kw) -> WhenParse:
    """Shorthand for a WhenParse with a clock time."""
    return WhenParse(time=time(hour, minute), ampm_explicit=explicit, **kw)


def on(day: date, **kw) -> WhenParse:
    return WhenParse(day=day, **kw)


EMPTY = WhenParse()

CASES = [
    # --- relative days
    ("today", on(TODAY)),
    ("Can I come in today?", on(TODAY)),
    ("tomorrow", on(d(11, 26))),
    ("the day after tomorrow", on(d(11, 27))),
    ("in two weeks", on(d(12, 9))),
    ("in 3 days", on(d(11, 28))),
    ("in a week", on(d(12, 2))),
    ("a week from today", on(d(12, 2))),
    ("a week from Friday", on(d(12, 4))),
    ("tonight", on(TODAY, window=EVENING)),
    ("yesterday", on(d(11, 24), past=True)),
    ("last Monday", on(d(11, 23), past=True)),
    ("I came in last Wednesday", on(d(11, 18), past=True)),
    # --- weekdays, weeks, weekends (today excluded: "Wednesday" is next week's)
    ("Tuesday", on(d(12, 1))),
    ("this Friday", on(d(11, 27))),
    ("next Tuesday", on(d(12, 1))),
    ("on Thursday", on(d(11, 26))),
    ("Wednesday", on(d(12, 2), ambiguous=True)),  # said on a Wednesday
    ("Monday after next", on(d(12, 7))),
    ("Tuesday next week", on(d(12, 1))),
    ("next week on Friday", on(d(12, 4))),
    ("this weekend", WhenParse(days=(d(11, 28), d(11, 29)))),
    ("the weekend", WhenParse(days=(d(11, 28), d(11, 29)))),
    ("next week", WhenParse(days=(d(11, 30), d(12, 6)))),
    ("sometime next week", WhenParse(days=(d(11, 30), d(12, 6)))),
    ("this week", WhenParse(days=(TODAY, d(11, 29)))),
    ("the week after next", WhenParse(days=(d(12, 7), d(12, 13)))),
    ("Saturday, this weekend", on(d(11, 28))),
    # --- days of the month
    ("the 5th", on(d(12, 5))),
    ("the fifth", on(d(12, 5))),
    ("on the 21st", on(d(12, 21))),
    ("the twenty-first", on(d(12, 21))),
    ("the 28th", on(d(11, 28))),
    ("the 25th", on(TODAY)),
    ("the 31st", on(d(12, 31))),  # November has no 31st
    ("Thursday the 3rd", on(d(12, 3))),
    # --- month dates
    ("December 3rd", on(d(12, 3))),
    ("December third", on(d(12, 3))),
    ("3rd of December", on(d(12, 3))),
    ("Dec. 3", on(d(12, 3))),
    ("12/3", on(d(12, 3))),
    ("November 20th", on(d(11, 20, 2027))),
    ("January 5th", on(d(1, 5, 2027))),
    ("february twenty ninth", on(d(2, 29, 2028))),
    # --- clock times; no am/pm -> the hour as heard on a 12-hour clock
    ("at 3", at(3)),
    ("3 p.m.", at(15, explicit=True)),
    ("3 PM", at(15, explicit=True)),
    ("3pm", at(15, explicit=True)),
    ("3:30", at(3, 30)),
    ("3:30 pm", at(15, 30, explicit=True)),
    ("15:00", at(15, explicit=True)),
    ("1500 hours", at(15, explicit=True)),
    ("three thirty", at(3, 30)),
    ("three fifteen", at(3, 15)),
    ("nine oh five", at(9, 5)),
    ("three o'clock", at(3)),
    ("half past two", at(2, 30)),
    ("quarter past ten", at(10, 15)),
    ("quarter to five", at(4, 45)),
    ("twenty past four", at(4, 20)),
    ("ten to six", at(5, 50)),
    ("noon", at(12, explicit=True)),
    ("midday", at(12, explicit=True)),
    ("12 noon", at(12, explicit=True)),
    ("midnight", at(0, explicit=True)),
    ("ten a.m.", at(10, explicit=True)),
    ("10 a m", at(10, explicit=True)),
    ("nine in the morning", at(9, explicit=True)),
    ("4 in the afternoon", at(16, explicit=True)),
    ("3 o'clock in the afternoon", at(15, explicit=True)),
    ("seven tonight", at(19, explicit=True, day=TODAY)),
    ("around 2", at(2)),
    ("by 5", WhenParse(window=(time(0), time(17)))),  # "done by 5"
    ("at 12", at(12)),
    # --- windows
    ("morning", WhenParse(window=MORNING)),
    ("in the afternoon", WhenParse(window=AFTERNOON)),
    ("this Friday morning", on(d(11, 27), window=MORNING)),
    ("tomorrow evening", on(d(11, 26), window=EVENING)),
    ("after 4", WhenParse(window=(time(16), LATE))),
    ("after 4 pm", WhenParse(window=(time(16), LATE))),
    ("before 11", WhenParse(window=(time(0), time(11)))),
    ("any time after lunch", WhenParse(window=(time(13), LATE))),
    ("lunchtime", WhenParse(window=LUNCH)),
    ("between 2 and 4", WhenParse(window=(time(14), time(16)))),
    ("Good morning, do you have anything Tuesday?", on(d(12, 1))),
    # --- combined
    ("Hi, this is Maria, can I get a haircut tomorrow at 3?", at(3, day=d(11, 26))),
    ("the day after tomorrow at ten", at(10, day=d(11, 27))),
    ("2pm on the 5th", at(14, explicit=True, day=d(12, 5))),
    ("Tuesday at 10", at(10, day=d(12, 1))),
    ("next Tuesday at half past two", at(2, 30, day=d(12, 1))),
    ("December 3rd at noon", at(12, explicit=True, day=d(12, 3))),
    ("can I come in on the 5th around 2", at(2, day=d(12, 5))),
    ("tomorrow afternoon at 3", at(15, explicit=True, day=d(11, 26))),
    ("tonight at 7", at(19, explicit=True, day=TODAY)),
    ("Friday at 10 in the morning", at(10, explicit=True, day=d(11, 27))),
    ("At 3 tomorrow.", at(3, day=d(11, 26))),
    ("TOMORROW AT 3 P.M.!!", at(15, explicit=True, day=d(11, 26))),
    ("Could I book for 2 people at 4?", at(4)),
    ("at 10 tomorrow morning", at(10, explicit=True, day=d(11, 26))),
    ("seven in the evening", at(19, explicit=True)),
    ("Saturday the 28th at 11", at(11, day=d(11, 28))),
    ("next Friday at 3:15 pm", at(15, 15, explicit=True, day=d(11, 27), ambiguous=True)),
    ("Friday night", on(d(11, 27), window=EVENING)),
    (
        "sometime next week in the afternoon",
        WhenParse(days=(d(11, 30), d(12, 6)), window=AFTERNOON),
    ),
    ("between 10 and 2", WhenParse(window=(time(10), time(14)))),
    ("from 9 to 5", WhenParse(window=(time(9), time(17)))),
    ("quarter after ten", at(10, 15)),
    # --- corrections: the last positive mention wins
    ("no, not 3, make it 4", at(4)),
    ("not Tuesday, Wednesday", on(d(12, 2), ambiguous=True)),
    ("Tuesday. Actually Wednesday", on(d(12, 2), ambiguous=True)),
    ("Tuesday, not Wednesday", on(d(12, 1))),
    ("no, 3pm", at(15, explicit=True)),
    ("Tuesday? No, Wednesday", on(d(12, 2), ambiguous=True)),
    ("no, 3 pm, not 3 am", at(15, explicit=True)),
    ("I can't do Monday, how about Friday at 2", at(2, day=d(11, 27))),
    ("morning, no wait, at 3", at(3)),
    # --- numbers that are not dates or times
    ("I'd like 2 haircuts", EMPTY),
    ("my number is 555 0100", EMPTY),
    ("call me back on 555-123-4567", EMPTY),
    ("for 30 minutes", EMPTY),
    ("I'm 25", EMPTY),
    ("what's the first available?", WhenParse(soonest=True)),
    ("", EMPTY),
    ("hello, who is this?", EMPTY),
    ("Good morning!", EMPTY),
    ("3", EMPTY),  # a bare number needs a cue or expecting_time=True
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_parse_when(text, expected):
    assert parse_when(text, today=TODAY) == expected


def test_table_is_big_enough():
    assert len(CASES) >= 70


EXPECTING_TIME = [
    ("3", at(3)),
    ("three", at(3)),
    ("four thirty", at(4, 30)),
    ("um, 10 please", at(10)),
    ("Seven.", at(7)),
    ("2 people", EMPTY),
    ("tomorrow", on(d(11, 26))),
]


@pytest.mark.parametrize(("text", "expected"), EXPECTING_TIME)
def test_expecting_time_reads_bare_numbers(text, expected):
    assert parse_when(text, today=TODAY, expecting_time=True) == expected


# Around month and year ends; each row has its own "today".
EDGES = [
    (d(12, 30), "tomorrow", on(d(12, 31))),
    (d(12, 30), "the day after tomorrow", on(d(1, 1, 2027))),
    (d(12, 30), "in 3 days", on(d(1, 2, 2027))),
    (d(12, 30), "the 5th", on(d(1, 5, 2027))),
    (d(12, 30), "December 3rd", on(d(12, 3, 2027))),
    (d(12, 30), "12/31", on(d(12, 31))),
    (d(12, 30), "next week", WhenParse(days=(d(1, 4, 2027), d(1, 10, 2027)))),
    (d(12, 30), "next Monday", on(d(1, 4, 2027))),
    (d(1, 31, 2027), "the 31st", on(d(1, 31, 2027))),  # today counts
    (d(1, 31, 2027), "the 30th", on(d(3, 30, 2027))),  # February is skipped
    (d(1, 31, 2027), "in a month", on(d(2, 28, 2027))),
    (d(1, 31, 2027), "this weekend", WhenParse(days=(d(1, 31, 2027), d(1, 31, 2027)))),
    (d(1, 31, 2027), "this week", WhenParse(days=(d(1, 31, 2027), d(1, 31, 2027)))),
    (d(1, 31, 2027), "next week", WhenParse(days=(d(2, 1, 2027), d(2, 7, 2027)))),
    (d(1, 1, 2027), "yesterday", on(d(12, 31), past=True)),
    (d(2, 28, 2028), "tomorrow", on(d(2, 29, 2028))),
    (d(11, 30), "next month", WhenParse(days=(d(12, 1), d(12, 31)))),
]


@pytest.mark.parametrize(("today", "text", "expected"), EDGES)
def test_month_and_year_ends(today, text, expected):
    assert parse_when(text, today=today) == expected


@pytest.mark.parametrize(
    ("t", "explicit", "expected"),
    [
        (time(3), False, [time(15), time(3)]),
        (time(1, 30), False, [time(13, 30), time(1, 30)]),
        (time(7), False, [time(19), time(7)]),
        (time(8), False, [time(8), time(20)]),
        (time(11, 45), False, [time(11, 45), time(23, 45)]),
        (time(12), False, [time(12)]),
        (time(12, 30), False, [time(12, 30)]),
        (time(3), True, [time(3)]),
        (time(15), True, [time(15)]),
        (time(0), True, [time(0)]),
    ],
)
def test_plausible_times(t, explicit, expected):
    assert plausible_times(t, explicit) == expected


def test_is_empty():
    assert WhenParse().is_empty
    assert not WhenParse(window=MORNING).is_empty
    assert not parse_when("tomorrow", today=TODAY).is_empty


# Words the grammar reacts to, so random sentences exercise the interesting paths.
_WORDS = (
    "at around by after before between and to from not no actually make it the on in a of "
    "this next last week weekend month day tomorrow today tonight yesterday morning afternoon "
    "evening night noon midnight lunch half quarter past till am pm a.m. p.m. o'clock hours "
    "monday tuesday friday december may feb 1 3 5 12 15 25 31 0 00 99 2026 3:30 12/3 13/45 "
    "1500 5th 31st twenty first three thirty oh hundred , . - ' ? : /"
)
VOCAB = _WORDS.split()


@settings(max_examples=300, deadline=None)
@given(text=st.text(), today=st.dates())
def test_never_raises_on_arbitrary_text(text, today):
    assert isinstance(parse_when(text, today=today), WhenParse)


@settings(max_examples=500, deadline=None)
@given(
    words=st.lists(st.sampled_from(VOCAB), max_size=12),
    today=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    expecting_time=st.booleans(),
)
def test_grammar_itself_does_not_raise(words, today, expecting_time):
    # Calls the inner function, so parse_when's safety net cannot hide a bug.
    _parse(" ".join(words), today, expecting_time)
