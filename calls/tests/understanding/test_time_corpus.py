"""The spoken-time grammar against two corpora (see corpus/__init__.py): ours, written the way
callers talk, and the booking-relevant phrases of Duckling's English time corpus."""

from datetime import date, time

import pytest

from calls.tests.understanding.corpus import CORPUS, DUCKLING, Meaning, judge, load, score
from calls.tests.understanding.corpus.extract_duckling import extract

MAX_WRONG = 0.02


@pytest.mark.parametrize("path, size", [(CORPUS, 272), (DUCKLING, 400)], ids=["ours", "duckling"])
def test_corpus_is_big_enough_to_mean_something(path, size):
    assert len(load(path)) >= size


@pytest.mark.parametrize("path", [CORPUS, DUCKLING], ids=["ours", "duckling"])
def test_at_most_two_percent_committed_wrong(path):
    results = score(path)
    total = sum(len(rows) for rows in results.values())
    wrong = results["wrong"]
    listing = "\n".join(f"{phrase!r}: meant {want}, read {got}" for phrase, want, got in wrong)
    assert len(wrong) <= MAX_WRONG * total, f"{len(wrong)} of {total} wrong:\n{listing}"


def test_only_the_next_weekday_rule_is_said_back_rather_than_wrong():
    said_back = [phrase.lower() for phrase, _, _ in score(DUCKLING)["said back"]]
    assert said_back and all(phrase.startswith("next ") for phrase in said_back)


def test_judging_itself():
    friday = Meaning(day=date(2026, 11, 27))
    friday_at_3 = Meaning(day=date(2026, 11, 27), time=time(15))
    assert judge(friday_at_3, friday_at_3) == "right"
    assert judge(friday_at_3, friday) == "asked"  # the time is asked for
    assert judge(friday_at_3, Meaning()) == "asked"
    assert judge(friday, friday_at_3) == "wrong"  # a time the caller didn't say
    assert judge(friday, Meaning(day=date(2026, 11, 28))) == "wrong"
    assert judge(friday, Meaning(day=date(2026, 11, 28)), date_said_back=True) == "said back"
    assert judge(Meaning(ask=True), Meaning()) == "right"
    assert judge(Meaning(ask=True), friday) == "wrong"  # a guess
    month_end = Meaning(days=(date(2026, 11, 21), date(2026, 11, 30)))
    assert judge(month_end, Meaning(days=(date(2026, 11, 24), date(2026, 11, 30)))) == "right"
    assert judge(month_end, Meaning(days=(date(2026, 11, 20), date(2026, 11, 30)))) == "wrong"


DUCKLING_SNIPPET = """
allExamples = concat
  [ examples (datetime (2013, 2, 12, 15, 0, 0) Hour)
             [ "at 3pm"
             , "15h00"
             ]
  , examples (datetime (2013, 2, 11, 0, 0, 0) Day)
             [ "yesterday"
             ]
  , examples (datetimeInterval ((2013, 2, 12, 15, 0, 0), (2013, 2, 12, 17, 0, 0)) Hour)
             [ "3-4pm" ]
  , examples (datetimeInterval ((2013, 2, 12, 12, 0, 0), (2013, 2, 12, 19, 0, 0)) Hour)
             [ "this afternoon" ]
  , examples (datetimeHoliday (2013, 12, 25, 0, 0, 0) Day "Christmas")
             [ "xmas" ]
  , examples (datetimeOpenInterval After (2013, 2, 12, 14, 0, 0) Hour)
             [ "after 2 pm" ]
  ]
"""


def test_extracting_duckling_keeps_bookable_phrases_with_their_values():
    rows, dropped = extract(DUCKLING_SNIPPET)
    assert rows == [
        ("at 3pm", "d=2013-02-12 t=15:00"),
        ("3-4pm", "d=2013-02-12 w=15:00-16:00"),  # Duckling's exclusive hour end, made inclusive
        ("this afternoon", "d=2013-02-12 w=12:00-17:00"),  # the salon's afternoon
        ("after 2 pm", "d=2013-02-12 w=14:00-23:59"),
    ]
    assert dropped == {"written": 1, "past": 1, "holiday": 1}
