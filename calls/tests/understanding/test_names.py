import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.understanding.names import extract_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my name is Maria", "Maria"),
        ("My name's Maria", "Maria"),
        ("this is Maria", "Maria"),
        ("it's Maria Lopez", "Maria Lopez"),
        ("its Maria", "Maria"),
        ("I'm John", "John"),
        ("I am John Smith and I need a trim", "John Smith"),
        ("name's Sam", "Sam"),
        ("Maria here", "Maria"),
        ("Hi, John here, I need a trim", "John"),
        ("Maria speaking", "Maria"),
        ("call me Jo", "Jo"),
        ("you can call me Jo", "Jo"),
        ("Hi, this is Maria, can I get a haircut tomorrow at 3?", "Maria"),
        ("this is for a haircut, my name is Maria", "Maria"),
        ("my name is maria lopez", "Maria Lopez"),
        ("my name is Ronald McDonald", "Ronald McDonald"),
        ("this is Sean O'Brien", "Sean O'Brien"),
        ("my name is Ann, that's A N N", "Ann"),
        ("my name is Anne, that's A N N", "Ann"),  # the spelling wins
        ("my name is Maria, at 3 p.m. please", "Maria"),  # "p.m." is not a spelling
        # Not names.
        ("this is for a haircut", None),
        ("it's tomorrow", None),
        ("I'm looking for a haircut", None),
        ("I'm free at 3", None),
        ("it's fine", None),
        ("it's three o'clock", None),
        ("I'm calling to book", None),
        ("I'm here", None),
        ("call me back", None),
        ("I'm driving right now", None),
        ("I'm curious about prices", None),
        ("this is Sterling", "Sterling"),
        ("yes", None),
        ("no", None),
        ("hello", None),
        ("I'd like a haircut", None),
        ("Maria", None),  # a bare word is only a name when we asked for one
        ("M A R I A", None),
        ("", None),
    ],
)
def test_extract_name(text, expected):
    assert extract_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maria", "Maria"),
        ("maria", "Maria"),
        ("Maria Lopez", "Maria Lopez"),
        ("Maria Lopez please", "Maria Lopez"),
        ("uh it's Maria", "Maria"),
        ("um, Maria", "Maria"),
        ("Sure, Maria.", "Maria"),
        ("Maria, M A R I A", "Maria"),
        ("M-A-R-I-A", "Maria"),
        ("m a r i a", "Maria"),
        ("M. A. R. I. A.", "Maria"),
        ("Jo, J O", "Jo"),
        ("MARIA", "Maria"),
        ("Mary-Jane", "Mary-Jane"),
        ("Maria, I'd like a haircut", "Maria"),
        # Answers that are not a name.
        ("I want a haircut tomorrow", None),
        ("haircut", None),
        ("yes", None),
        ("no", None),
        ("hello", None),
        ("tomorrow at 3", None),
        ("what?", None),
        ("Maria 42", None),
        ("one two three four", None),
    ],
)
def test_extract_name_when_expecting_one(text, expected):
    assert extract_name(text, expecting_name=True) == expected


def test_at_most_three_name_words():
    assert extract_name("my name is Ana Maria Lopez Garcia") == "Ana Maria Lopez"


@given(st.text(), st.booleans())
def test_never_raises(text, expecting):
    name = extract_name(text, expecting_name=expecting)
    assert name is None or name.strip()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it's uh, Mike, Mike Ross", "Mike Ross"),
        ("the name's Ross. Mike Ross", "Mike Ross"),
        ("uh, Mike, Mike Ross", "Mike Ross"),
        ("Maria, Maria Lopez please", "Maria Lopez"),
        ("it's um, Ann. Ann Lee, thanks", "Ann Lee"),
    ],
)
def test_a_false_start_said_again_in_full_is_the_name(text, expected):
    assert extract_name(text, expecting_name=True) == expected
