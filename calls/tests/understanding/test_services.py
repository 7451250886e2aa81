from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from calls.understanding.services import (
    _MIN_SCORE,
    _SHORT_TERM,
    ServiceMatch,
    ServiceName,
    _candidates,
    _sound,
    _term_key,
    _words,
    match_service,
    spoken_list,
)

# The demo salon's services.
HAIRCUT = ServiceName(1, "Haircut", ("hair cut", "cut", "cut and style"))
BEARD = ServiceName(2, "Beard trim", ("trim", "beard", "shave"))
COLOUR = ServiceName(3, "Hair colouring", ("colour", "color", "dye", "highlights", "tint"))
MANICURE = ServiceName(4, "Manicure", ("mani", "nails", "nail"))
SALON = (HAIRCUT, BEARD, COLOUR, MANICURE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Names and synonyms, with speech-to-text spellings.
        ("haircut", HAIRCUT),
        ("hair cut", HAIRCUT),
        ("Haircut.", HAIRCUT),
        ("hare cut", HAIRCUT),
        ("harecut", HAIRCUT),
        ("hair cutt", HAIRCUT),
        ("haircuts", HAIRCUT),
        ("just a cut", HAIRCUT),
        ("a trim", BEARD),
        ("beard trim", BEARD),
        ("bear trim", BEARD),
        ("beard trimming", BEARD),
        ("a shave", BEARD),
        ("my beard", BEARD),
        ("colour", COLOUR),
        ("color", COLOUR),
        ("hair colouring", COLOUR),
        ("hair coloring", COLOUR),
        ("can you do highlights", COLOUR),
        ("a tint", COLOUR),
        ("mani", MANICURE),
        ("manicure please", MANICURE),
        ("manicures", MANICURE),
        ("manicur", MANICURE),
        ("I'd like my nails done", MANICURE),
        # Inside a longer utterance.
        ("Hi, this is Maria, can I get a haircut tomorrow at 3?", HAIRCUT),
        ("I was hoping to book a beard trim for Friday morning", BEARD),
        ("do you have time for a manicure on Saturday", MANICURE),
        # Corrections.
        ("not a haircut, a beard trim", BEARD),
        ("no haircut, just a beard trim", BEARD),
        ("actually make it a manicure", MANICURE),
        ("a haircut, actually make it a manicure", MANICURE),
        ("a manicure instead of a haircut", MANICURE),
        ("I don't want a haircut, I want colour", COLOUR),
        ("a haircut and a beard trim", BEARD),
        ("no, a haircut", HAIRCUT),  # "No." answers the previous question; haircut is wanted
        # Incidental words are not services.
        ("I'd like to book", None),
        ("this is Maria", None),
        ("tomorrow at 3", None),
        ("yes", None),
        ("no thanks", None),
        ("save me a spot", None),
        ("bye", None),
        ("my name is Manny", None),
        ("hair care", None),
        ("what are your hours", None),
        ("", None),
        # Everything mentioned was refused.
        ("I don't want a haircut", None),
    ],
)
def test_match_service(text, expected):
    match = match_service(text, SALON)
    if expected is None:
        assert match is None
    else:
        assert match is not None
        assert (match.id, match.name) == (expected.id, expected.name)


def test_match_reports_score():
    assert match_service("haircut", SALON) == ServiceMatch(1, "Haircut", 100.0)
    fuzzy = match_service("manicur", SALON)
    assert fuzzy is not None and 85 <= fuzzy.score < 100


def test_no_services_means_no_match():
    assert match_service("a haircut please", []) is None


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], ""),
        (["Haircut"], "Haircut"),
        (["Haircut", "Manicure"], "Haircut or Manicure"),
        (
            ["Haircut", "Beard trim", "Hair colouring", "Manicure"],
            "Haircut, Beard trim, Hair colouring or Manicure",
        ),
    ],
)
def test_spoken_list(names, expected):
    assert spoken_list(names) == expected


@given(st.text())
def test_never_raises(text):
    match_service(text, SALON)
    spoken_list([text, text])


# -- The matcher skips comparisons, never matches -----------------------------------------


def every_comparison(text: str, services) -> list[tuple]:
    """What _candidates finds, by comparing every window with every term (its definition)."""
    words = _words(text)
    found = []
    for service in services:
        for term in (service.name, *service.synonyms):
            size, key = _term_key(term)
            if not key:
                continue
            for width in sorted({max(1, size - 1), size, size + 1}):
                for first in range(len(words) - width + 1):
                    window = "".join(w.stem for w in words[first : first + width])
                    if len(key) <= _SHORT_TERM or len(window) <= _SHORT_TERM:
                        score = 100.0 if window == key else 0.0
                    else:
                        score = max(
                            fuzz.ratio(window, key), fuzz.ratio(_sound(window), _sound(key))
                        )
                    if score >= _MIN_SCORE:
                        found.append((first, first + width - 1, service.id, score))
    return found


def said(text: str) -> list[tuple]:
    return [(m.first, m.last, m.service.id, m.score) for m in _candidates(_words(text), SALON)]


CORPUS = Path(__file__).parent / "corpus" / "time_expressions.txt"
PHRASES = [
    line.split("|")[0].strip()
    for line in CORPUS.read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.mark.parametrize(
    "template",
    [
        "{}",
        "can I get a hare cut {}",
        "a manny cure and a beard trimming {}, or highlights",
        "{} not the colouring, hair colouring with nails and a shave",
    ],
)
def test_candidates_are_every_comparison_that_reaches_the_score(template):
    for phrase in PHRASES:
        text = template.format(phrase)
        assert said(text) == every_comparison(text, SALON), text


@given(
    st.lists(
        st.sampled_from(
            [
                "hair",
                "cut",
                "haircutt",
                "bear",
                "trimming",
                "manny",
                "cure",
                "colors",
                "a",
                "nail",
                "highlight",
                "tint",
                "x",
            ]
        ),
        max_size=12,
    )
)
def test_candidates_on_any_words(words):
    text = " ".join(words)
    assert said(text) == every_comparison(text, SALON)
