"""What the caller wants to do, whether they said yes or no, and which offered option they took.

All matching runs on normalised text: lower case, apostrophes dropped ("can't" -> "cant"),
other punctuation turned into spaces. The patterns below are written in that form.
"""

from __future__ import annotations

import enum
import re


class Intent(enum.StrEnum):
    BOOK = "book"
    CANCEL = "cancel"
    MOVE = "move"
    HUMAN = "human"
    REPEAT = "repeat"
    GOODBYE = "goodbye"
    LIST_SERVICES = "list_services"
    HOURS = "hours"
    MESSAGE = "message"


_APOSTROPHES = re.compile(r"['’]")
_NON_WORD = re.compile(r"[\W_]+")
_BOOKING_NOUN = r"(?:appointment|booking|reservation|visit|slot)s?"


def _normalise(text: str) -> str:
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", text.lower())).strip()


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b(?:{alt})\b" for alt in alternatives))


# CANCEL needs an object that is a booking, or no object at all ("I want to cancel"). A bare
# "cancel that"/"cancel this" is left out: in a confirmation it means "forget what you just
# said", not "cancel my appointment".
_CANCEL = _rx(
    rf"cancel\w*(?: \w+){{0,2}} {_BOOKING_NOUN}",
    r"cancel\w*(?: it| my| our)?(?! (?:that|this|policy|fee|fees))",
    rf"{_BOOKING_NOUN}(?: \w+){{0,8}} cancel\w*",
)
# "I can't make it" is a softer cancel; if they also ask to move, it's a move. "I can't come
# at 3" is left out: while booking it means "offer another time".
_CANT_COME = _rx(
    r"(?:cant|cannot|can not|wont|will not|not going to|unable to|wont be able to) "
    rf"(?:be able to )?(?:make it|make (?:my|the|our) {_BOOKING_NOUN})"
)
# MOVE needs a booking, "reschedule", or a shift in time ("push it back"). "Change it to 4" /
# "move it to Friday" are not MOVE: in a confirmation they edit the booking being made.
_MOVE = _rx(
    r"re ?schedul\w*|re ?book\w*",
    rf"(?:move|change|shift|switch) (?:my |the |our |this |that )?{_BOOKING_NOUN}",
    r"(?:push|move|bring|put) (?:it|that|me|my appointment|the appointment) "
    r"(?:back|forward|later|earlier|up)",
)
_HUMAN = _rx(
    r"(?:speak|talk|chat) (?:to|with) (?:a |an |the )?(?:someone|somebody|person|human|"
    r"real person|staff|manager|owner|receptionist|agent|representative|stylist)",
    r"operator|human|humans|real person|live person|actual person|representative|manager",
    r"transfer me|put me through|connect me",
    r"(?:can|could|may) i (?:please )?(?:speak|talk) (?:to|with) (?!you\b)\w+",
)
# REPEAT only when that is all they said: "sorry, I meant Tuesday" is a correction.
# Longer phrases first: the regex takes the first alternative that fits ("what" < "what did...").
_REPEAT_PART = _rx(
    r"(?:can|could|would|will) you (?:repeat|say) (?:that|it)(?: again)?",
    r"what did you say|what was that|i didnt (?:catch|hear|get) (?:that|it|you)|i missed that",
    r"one more time",
    r"repeat(?: that| it)?|say (?:that|it) again|come again|excuse me|pardon(?: me)?",
    r"sorry|what|huh|again",
)
_FILLER = _rx(r"please|um+|uh+|er+|hmm+|oh")
_UH_HUH = _rx(r"uh huh")
_GOODBYE = _rx(
    r"(?:good ?)?bye(?: bye)?|thats all|that will be all|thatll be all|thats everything",
    r"nothing else|no thats it|thats it (?:thanks|thank you|for (?:now|today))",
    r"have a (?:good|nice|great|lovely) (?:day|one|evening|night|weekend)",
    r"talk (?:to you )?later|im all set|im done",
)
_LIST_SERVICES = _rx(
    r"what (?:else )?do you (?:offer|do)$",
    r"(?:what|which) (?:services|treatments)",
    r"what (?:kind|kinds|sort|sorts|type|types) of (?:services|treatments|things)",
    r"(?:services|treatments) (?:do )?you (?:have|offer|do)|your services|list (?:of )?services",
    r"what (?:do|can) you offer|what can i (?:book|get)",
)
_HOURS = _rx(
    r"when are you (?:open|closed|closing)|are you open|how late are you open",
    r"(?:opening|business) (?:hours|times)|(?:your|the) hours|what time do you (?:open|close)",
)
_MESSAGE = _rx(r"(?:leave|take|pass on|give (?:him|her|them)) (?:a )?(?:message|voicemail)")
_BOOK_VERB = _rx(
    r"book|make (?:an|a) (?:appointment|booking|reservation)|schedule (?:an|a|me|it)",
    r"(?:can|could|may) (?:i|we) come in|get (?:an|a) (?:appointment|booking)|come in for",
    r"(?:id|i would) like to (?:book|come|make|schedule)",
    r"(?:do you have|any) (?:availability|openings|slots|space|room)",
    r"(?:do you have|have you got|is there) any ?(?:thing|time)s? (?:free |open )?(?:for|on|at)",
)
# Weak signs of booking: a wish ("I want a ...") or a noun ("my appointment"). They only count
# when nothing else matched, so "I want a real person" is HUMAN alone.
_BOOK_WEAK = _rx(
    r"(?:id|i would) like (?:a|an|to (?:get|have))",
    r"(?:i want|i need|can i get|could i get|can i have|could i have) (?:a|an)",
    r"appointments?|bookings?|reservations?|schedule",
)


def _is_just_repeat_request(norm: str) -> bool:
    if _UH_HUH.search(norm):
        return False  # a yes, not "huh?"
    words = " ".join(_FILLER.sub(" ", norm).split())
    return bool(words) and _REPEAT_PART.sub(" ", words).strip() == ""


def _wants_to_book(norm: str, found: set[Intent]) -> bool:
    """A booking verb, unless it is a move; a weak sign only when nothing else matched."""
    if _BOOK_VERB.search(norm):
        return Intent.MOVE not in found
    return not found and bool(_BOOK_WEAK.search(norm))


def detect_intents(text: str) -> set[Intent]:
    """Every intent the utterance expresses; empty when none (e.g. just a name or a time)."""
    norm = _normalise(text)
    found = {
        intent
        for intent, rx in (
            (Intent.MOVE, _MOVE),
            (Intent.HUMAN, _HUMAN),
            (Intent.GOODBYE, _GOODBYE),
            (Intent.LIST_SERVICES, _LIST_SERVICES),
            (Intent.HOURS, _HOURS),
            (Intent.MESSAGE, _MESSAGE),
        )
        if rx.search(norm)
    }
    if _CANCEL.search(norm) or (_CANT_COME.search(norm) and Intent.MOVE not in found):
        found.add(Intent.CANCEL)
    if _is_just_repeat_request(norm):
        found.add(Intent.REPEAT)
    if _wants_to_book(norm, found):
        found.add(Intent.BOOK)
    return found


# --- yes / no ---------------------------------------------------------------------------------

# Checked first: "I don't know" contains "don't", "no idea" contains "no".
_UNSURE = _rx(r"dont know|not sure|unsure|maybe|perhaps|no idea|let me (?:think|check|see)")
# One alternation, longest phrases first, so "no problem" is a yes and "not ok" is a no.
_MARKERS = re.compile(
    r"\b(?:"
    r"(?P<no0>(?:absolutely|definitely|of course|certainly|surely) not|not at all)"
    r"|(?P<yes1>no problem|no worries|not a problem|why not|of course|uh huh|mm hmm|mhm)"
    r"|(?P<no1>not really|not quite|actually no|no thanks|no thank you|thats wrong"
    r"|thats not right|thats not correct|thats not it|that doesnt work|doesnt work"
    r"|(?:not|isnt|doesnt|dont|wont) (?:\w+ )?"
    r"(?:ok|okay|good|great|right|correct|work|works|fine|perfect)"
    r"|hold on|hang on|wait|no|nope|nah|negative|incorrect|wrong|dont|do not)"
    r"|(?P<yes2>yes|yeah|yea|yep|yup|ya|sure|ok|okay|alright|all right|sounds good|sounds great"
    r"|thats right|thats correct|thats it|correct|exactly|perfect|please do|go ahead|book it"
    r"|absolutely|definitely|that works|works for me|fine|great|lovely|confirm|affirmative"
    r"|do it|go for it|i think so|thats good|thats fine|very good|you bet|sure thing|certainly"
    r"|yes please|please do|that would be great|thatd be great|lets do it|lets do that)"
    r")\b"
)
_CHANGE_REQUEST = _rx(r"but|make it|actually|instead|change|rather|except|different")
_BARE_RIGHT = re.compile(r"^(?:right|good)$")


def yes_or_no(text: str) -> bool | None:
    """True for yes, False for no, None when unclear.

    The first marker decides a no ("no, make it 4" -> False). A yes only counts if nothing
    contradicts it: a yes that also asks for a change ("yes but make it 4", "sure, actually
    Tuesday") gives None, so the caller's change is not booked by accident.
    """
    norm = _normalise(text)
    if not norm or _UNSURE.search(norm):
        return None
    if _BARE_RIGHT.match(norm):
        return True
    found = [m for m in _MARKERS.finditer(norm) if m.lastgroup]
    markers = [m.lastgroup.startswith("yes") for m in found]
    if not markers:
        return None
    if not markers[0]:
        return False
    if (
        len(found) > 1
        and found[0].group() in ("yeah", "yea", "ya")
        and not markers[1]
        and found[1].start() == found[0].end() + 1
    ):
        return False  # "yeah, no": the no is the answer
    if not all(markers) or _CHANGE_REQUEST.search(norm):
        return None
    return True


# --- picking one of the offered options ---------------------------------------------------------

_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7,
    "ninth": 8, "9th": 8, "tenth": 9, "10th": 9,
}  # fmt: skip
_CARDINALS = {
    "one": 0, "two": 1, "three": 2, "four": 3, "five": 4, "six": 5, "seven": 6, "eight": 7,
    "nine": 8, "ten": 9,
}  # fmt: skip
_CARDINAL = "|".join([*_CARDINALS, r"\d+"])
# "a second", "first thing in the morning": not choices.
_NOT_ORDINAL = _rx(
    r"(?:a|one|just a|wait a) second|first thing|at first|the other day",
    r"last (?:week|time|month|year|night|visit)",
)
_CHOICE = re.compile(
    r"\b(?P<penultimate>second (?:to )?last|penultimate|last but one)\b"
    rf"|\b(?P<ordinal>{'|'.join(_ORDINALS)})\b"
    r"|\b(?P<last>last|latter|final|later one|the later|latest)\b"
    r"|\b(?P<first>former|earlier one|the earlier|earliest|sooner one|soonest)\b"
    r"|\b(?P<middle>middle)\b|\b(?P<other>other one|the other)\b"
    rf"|\b(?:option|number|choice) (?P<cardinal>{_CARDINAL})\b"
)


def _index(match: re.Match[str], count: int) -> int | None:
    kind = match.lastgroup
    if kind == "ordinal":
        return _ORDINALS[match.group("ordinal")]
    if kind == "cardinal":
        word = match.group("cardinal")
        return _CARDINALS[word] if word in _CARDINALS else int(word[:6]) - 1
    # Options are offered in time order, so "the earlier one" is the first offered.
    relative = {"first": 0, "last": count - 1, "penultimate": count - 2}
    if kind in relative:
        return relative[kind]
    if kind == "middle":
        return count // 2 if count % 2 else None
    # "The other one" of two: we assume the first was the one we suggested or asked about.
    return 1 if kind == "other" and count == 2 else None


def pick_ordinal(text: str, count: int) -> int | None:
    """Index into `count` offered options the caller chose, or None. The last choice said wins."""
    norm = _NOT_ORDINAL.sub(" ", _normalise(text))
    matches = list(_CHOICE.finditer(norm))
    if not matches or count <= 0:
        return None
    index = _index(matches[-1], count)
    return index if index is not None and 0 <= index < count else None
