"""The spoken-time grammar against the corpus of what callers say (see corpus/__init__.py)."""

from datetime import date, time

from calls.tests.understanding.corpus import Meaning, judge, load, score

MAX_WRONG = 0.02


def test_corpus_is_big_enough_to_mean_something():
    assert len(load()) >= 272


def test_at_most_two_percent_committed_wrong():
    results = score()
    total = sum(len(rows) for rows in results.values())
    wrong = results["wrong"]
    listing = "\n".join(f"{phrase!r}: meant {want}, read {got}" for phrase, want, got in wrong)
    assert len(wrong) <= MAX_WRONG * total, f"{len(wrong)} of {total} wrong:\n{listing}"


def test_judging_itself():
    friday = Meaning(day=date(2026, 11, 27))
    friday_at_3 = Meaning(day=date(2026, 11, 27), time=time(15))
    assert judge(friday_at_3, friday_at_3) == "right"
    assert judge(friday_at_3, friday) == "asked"  # the time is asked for
    assert judge(friday_at_3, Meaning()) == "asked"
    assert judge(friday, friday_at_3) == "wrong"  # a time the caller didn't say
    assert judge(friday, Meaning(day=date(2026, 11, 28))) == "wrong"
    assert judge(Meaning(ask=True), Meaning()) == "right"
    assert judge(Meaning(ask=True), friday) == "wrong"  # a guess
