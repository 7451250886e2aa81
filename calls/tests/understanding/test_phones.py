import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.understanding.phones import extract_phone, speak_phone

DEMO = "+15555550100"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Digits with separators.
        ("555-555-0100", DEMO),
        ("(555) 555 0100", DEMO),
        ("+1 555 555 0100", DEMO),
        ("1-555-555-0100", DEMO),
        ("555.555.0100", DEMO),
        ("5555550100", DEMO),
        ("555, 555, 0100", DEMO),
        # Spoken digits.
        ("five five five five five five oh one oh oh", DEMO),
        ("five five five five five five zero one zero zero", DEMO),
        ("five five five five five five o one o o", DEMO),
        ("double five five, five five five, oh one double oh", DEMO),
        ("triple five triple five zero one zero zero", DEMO),
        ("five fifty five, five fifty five, oh one hundred", DEMO),
        ("eight hundred five five five oh one oh oh", "+18005550100"),
        ("plus one five five five five five five oh one oh oh", DEMO),
        # Mixed, and inside a sentence.
        ("5 5 5 five five five 0100", DEMO),
        ("555 555 o100", DEMO),
        ("five five five, uh, five five five, oh one oh oh", DEMO),
        ("my number is 555 555 0100 and I want a haircut at 3", DEMO),
        ("oh, it's 555-555-0100", DEMO),
        ("call me at 5555550100 tomorrow", DEMO),
        ("5555550100 or 5555550199", DEMO),
        # Other countries.
        ("+44 20 7946 0958", "+442079460958"),
        ("plus forty four twenty seventy nine four six oh nine five eight", "+442079460958"),
        # Not phone numbers.
        ("at 3", None),
        ("2 haircuts", None),
        ("tomorrow at 3:30", None),
        ("555 0100", None),  # 7 digits: no area code, so no E.164 form
        ("2024-05-12", None),
        ("555 555 0100 0100 0100", None),
        ("zero", None),
        ("no thanks", None),
        ("", None),
    ],
)
def test_extract_phone(text, expected):
    assert extract_phone(text) == expected


def test_extract_phone_other_region():
    assert extract_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        (DEMO, "5 5 5, 5 5 5, 0 1 0 0"),
        ("+442079460958", "0 2 0, 7 9 4 6, 0 9 5 8"),
        ("12345", "1 2 3 4 5"),
        ("garbage", ""),
    ],
)
def test_speak_phone(e164, expected):
    assert speak_phone(e164) == expected


@given(st.text())
def test_never_raises(text):
    phone = extract_phone(text)
    assert phone is None or phone.startswith("+")
    speak_phone(text)


@given(st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True))
def test_spoken_back_number_is_understood(e164):
    assert extract_phone(speak_phone(e164)) == e164
