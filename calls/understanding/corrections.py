"""The words a caller takes back what they just said with ("646 555 0188, no sorry, 0189",
"at 9, sorry, 10", "it's Jon, sorry, John"): one vocabulary the phone, time and name readers
build their patterns from, so a marker is named once and each reader picks its groups.

Entries are regex fragments; each reader adds its own boundaries and flags.
"""

from __future__ import annotations

# Every reader takes these as a correction.
TAKE_BACK = ("no", "sorry", "i mean", "actually")
# A pause before the new value (the name reader takes it only after another marker).
WAIT = ("wait",)
RATHER = ("rather",)
# Said of the value just given: it was a slip.
SLIPS = ("oops", "scratch that", "make that")
MY_BAD = ("my bad",)
# What replaces a value just given (a phone number, a clock time).
REPLACING = TAKE_BACK + WAIT + RATHER + SLIPS


def any_of(*groups: tuple[str, ...] | str) -> str:
    """One non-capturing alternation of the words in `groups` (tuples or single words), in the
    order given, each word once."""
    words: list[str] = []
    for group in groups:
        for word in (group,) if isinstance(group, str) else group:
            if word not in words:
                words.append(word)
    return "(?:" + "|".join(words) + ")"
