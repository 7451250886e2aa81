import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.understanding.services import ServiceMatch, ServiceName, match_service, spoken_list

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
