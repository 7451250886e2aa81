"""Phone numbers as callers say them, and as we read them back.

Speech-to-text gives "555-555-0100", "five five five ... oh one oh oh", "double five" or a mix.
We turn the words into digits, cut the text into runs of digits (ordinary words end a run,
separators and "uh" do not), and let `phonenumbers` decide whether a run can be a number.
"""

from __future__ import annotations

import re

import phonenumbers

from calls.understanding import corrections

_MIN_DIGITS = 7

_UNITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5", "sixty": "6",
    "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
_REPEATS = {"double": 2, "triple": 3}
# Words that may sit inside a spoken number without ending it.
_SKIPPABLE_WORDS = frozenset({"dash", "hyphen", "uh", "um", "er", "erm"})
# "oh"/"o" are zeros inside a number, but "oh, ..." at the start is just an interjection.
_ZERO_LETTERS = frozenset({"oh", "o"})

_TOKEN = re.compile(r"(?a)\d+|[a-z]+|\+|[^\sa-z\d]")
# Separators written between digit groups: 555-555.0100, (555) 555 0100, "555, 555, 0100".
_SEPARATORS = frozenset("-.(),")


def _tens(tokens: list[str], i: int) -> tuple[str, int]:
    """Digits for a spoken 10-99 at tokens[i] ("fifteen", "forty", "forty two"), and its length."""
    tok = tokens[i]
    if tok in _TEENS:
        return _TEENS[tok], 1
    if tok in _TENS:
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if nxt in _UNITS and nxt not in _ZERO_LETTERS and nxt != "zero":
            return _TENS[tok] + _UNITS[nxt], 2
        return _TENS[tok] + "0", 1
    return "", 0


_NUMBER_WORDS = frozenset({*_UNITS, *_TEENS, *_TENS, *_REPEATS, *_SKIPPABLE_WORDS, "hundred"})


def _word_follows(tokens: list[str], i: int) -> bool:
    """True when the next token after any separators is an ordinary word, not a number."""
    while i < len(tokens) and tokens[i] in _SEPARATORS:
        i += 1
    return i < len(tokens) and tokens[i].isalpha() and tokens[i] not in _NUMBER_WORDS


def _step(tokens: list[str], i: int, current: str) -> tuple[str | None, int]:
    """Digits that tokens[i] adds to the current run and how many tokens it used.

    None means the token ends the run; "" means it is skipped (a separator, "uh").
    """
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok.isdigit():
        return tok, 1
    if tok in _REPEATS and (nxt in _UNITS or (nxt.isdigit() and len(nxt) == 1)):
        return _UNITS.get(nxt, nxt) * _REPEATS[tok], 2  # "double five" -> 55
    if tok in _ZERO_LETTERS and not current.strip("+") and nxt in {",", "!", "."}:
        return None, 1  # "Oh, it's 555 ...": an interjection, not a zero
    if tok in _ZERO_LETTERS and _word_follows(tokens, i + 1):
        return None, 1  # "... 0142, oh and at 10": an interjection after the number
    if tok in _UNITS:
        return _UNITS[tok], 1
    if tok in _TEENS or tok in _TENS:
        return _tens(tokens, i)
    if tok == "hundred" and current[-1:].isdigit():
        # Digit groups, not arithmetic: "eight hundred, five five five" -> 800 555.
        return "00", 1
    if tok in _SEPARATORS or tok in _SKIPPABLE_WORDS:
        return "", 1
    return None, 1


def _runs(text: str) -> list[tuple[str, int, int]]:
    """Digit strings the caller said (each possibly starting with "+"), with the span of the
    text each was said in."""
    matches = list(_TOKEN.finditer(text.lower()))
    tokens = [m.group() for m in matches]
    runs: list[tuple[str, int, int]] = []
    current, first = "", 0

    def close(last: int) -> None:
        if current.strip("+"):
            runs.append((current, matches[first].start(), matches[last].end()))

    i = 0
    while i < len(tokens):
        if tokens[i] in {"+", "plus"}:
            close(i - 1)
            current, first, i = "+", i, i + 1
            continue
        digits, used = _step(tokens, i, current)
        if digits is None:
            close(i - 1)
            current, first = "", i + used
        else:
            if not current:
                first = i
            current += digits
        i += used
    close(len(tokens) - 1)
    return runs


def _to_e164(run: str, region: str) -> str | None:
    if len(run.lstrip("+")) < _MIN_DIGITS:
        return None
    try:
        number = phonenumbers.parse(run, region)
    except phonenumbers.NumberParseException:
        return None
    # IS_POSSIBLE only: a "local only" 7-digit number has no area code, so its E.164 form would
    # be wrong. Validity is not required; demo numbers like 555-555-0100 are possible, not valid.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Between a number and what follows it: the caller is correcting themselves.
_CORRECTION = re.compile(
    r"\b"
    + corrections.any_of(corrections.REPLACING, corrections.MY_BAD, "correction", "not")
    + r"\b"
)
# A corrected tail said like a time ("10 30", "9:45", "4 pm") is a time, not digits of the number.
_TIME_LIKE = re.compile(r"^\s*\d{1,2}(?:[:\s]\d{2})?\s*$")
_TIME_AFTER = re.compile(
    r"\s*(?:[ap]\.?\s?m\b|o'?\s?clock|in the (?:morning|afternoon|evening)|tonight|tomorrow)",
    re.IGNORECASE,
)


def find_phone(text: str, *, region: str = "US") -> tuple[str, int, int] | None:
    """The phone number in what the caller said: (E.164, start, end of where it was said), so
    other readers can ignore those words ("five oh one" in a number is no time).

    The first number, unless the caller corrects it: "646 555 0188, no sorry, 0189" patches the
    last digits, "..., sorry, 646 555 0199" replaces it. The last value said wins.
    """
    found: tuple[str, int, int] | None = None
    digits = ""
    for run, start, end in _runs(text):
        corrects = found is not None and _CORRECTION.search(text, found[2], start)
        if found is not None and not corrects:
            break
        e164 = _to_e164(run, region)
        if e164:
            found, digits = (e164, found[1] if found else start, end), run
            continue
        if found is None:
            continue
        said = text[start:end]
        if len(run) >= len(digits) or _TIME_LIKE.match(said) or _TIME_AFTER.match(text, end):
            break
        patched = _to_e164(digits[: len(digits) - len(run)] + run, region)
        if patched is None:
            break
        found, digits = (patched, found[1], end), digits[: len(digits) - len(run)] + run
    return found


def digits_said(text: str) -> str | None:
    """The digits of a number said in one run ("212 555", "oh one nine nine"), whether or not
    they make a whole number; None when no digits or several separate runs were said."""
    runs = _runs(text)
    return runs[0][0] if len(runs) == 1 else None


def phone_from_digits(digits: str, *, region: str = "US") -> str | None:
    """A whole number put together from digits said in pieces, in E.164 form, or None."""
    return _to_e164(digits, region)


def speak_digits(digits: str) -> str:
    """Part of a number read back in groups of three: "2 1 2, 5 5 5"."""
    bare = digits.lstrip("+")
    groups = [bare[i : i + 3] for i in range(0, min(len(bare), 6), 3)] + [bare[6:]]
    return ", ".join(" ".join(group) for group in groups if group)


def extract_phone(text: str, *, region: str = "US") -> str | None:
    """The first phone number in what the caller said, in E.164 form, or None."""
    found = find_phone(text, region=region)
    return found[0] if found else None


def speak_phone(e164: str) -> str:
    """A number read out digit by digit in its national groups: "5 5 5, 5 5 5, 0 1 0 0".

    Text-to-speech reads "5550100" as "five million ..."; spacing the digits stops that, and the
    commas give the listener a pause between groups. Unparseable input is read digit by digit.
    """
    try:
        number = phonenumbers.parse(e164, None)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = e164
    groups = re.findall(r"\d+", national)
    return ", ".join(" ".join(group) for group in groups)
