"""What a caller asks the desk besides booking: questions, "never mind", which booking they
mean, and moves said without the word "appointment" ("can I move my colouring to Friday?").

Matching runs on the same normalised text as calls.understanding.intents (lower case,
apostrophes dropped, punctuation as spaces).
"""

from __future__ import annotations

import enum
import re
from datetime import date

from calls.understanding.intents import _normalise, _rx


class Question(enum.StrEnum):
    HOURS = "hours"
    PRICE = "price"
    DURATION = "duration"
    SERVICES = "services"
    ADDRESS = "address"
    ABOUT = "about"
    MY_BOOKINGS = "my_bookings"
    OFFERS = "offers"  # "do you do kids haircuts?": only with a service named, no time
    OTHER = "other"  # walk-ins, parking: not known here; the team can answer


_QUESTIONS: list[tuple[Question, re.Pattern[str]]] = [
    (
        Question.MY_BOOKINGS,
        _rx(
            r"when(?: is|s| was) my (?:\w+ )?(?:appointment|booking|reservation|slot)",
            r"what time (?:is|was|s) my (?:\w+ )?(?:appointment|booking|reservation)",
            r"(?:do|have) i (?:have|got) (?:an |a |any )?(?:appointment|booking)",
            r"(?:check|confirm|remind me (?:of|about)) my (?:appointment|booking)s?",
            r"my (?:appointment|booking) (?:again|is when)",
            # "I booked something for Monday, what time was it again?"
            r"(?:i|we) (?:booked|have booked|had booked|made (?:a|an) (?:booking|appointment))"
            r"(?: \w+){0,6} (?:what time|when)",
            r"(?:do|did|have) (?:i|we) (?:have|got) (?:anything|something|any ?thing)\b",
            r"(?:do|did|have) (?:i|we) (?:have|got) an? \w+ (?:\w+ )?(?:booked|on|in)\b",
            r"(?:am i|are we) (?:booked|down|pencilled|penciled)\b|(?:am i|are we) in (?:for|on)",
            r"what (?:have|do) (?:i|we) (?:got |have )?booked",
            r"when am i (?:in|booked|coming in|due|down)",
            # The service named: "what time is my haircut again?", "when's my manicure?", "is
            # my haircut still on for Saturday?", "I thought it was Saturday".
            r"(?:when|what time|what day|which day)(?:s| is| was| are| were)? my\b",
            r"(?:remind me|tell me|check|confirm) (?:when|what time|what day) my\b",
            r"(?:is|are) my (?:\w+ ){1,3}still (?:on|booked|happening|going ahead|ok|okay|good)",
            r"i thought (?:it|that|my \w+) (?:was|is|were) (?:on |at |for )?(?:(?:this|next) )?"
            r"(?:mon|tues|wednes|thurs|fri|satur|sun|to)day",
            r"(?:isnt|wasnt) it (?:on|at) (?:(?:this|next) )?"
            r"(?:mon|tues|wednes|thurs|fri|satur|sun|to)day",
        ),
    ),
    (
        Question.PRICE,
        _rx(
            r"how much|what (?:do|does|would) (?:you|it|that|a|an) \w* ?(?:charge|cost)",
            r"(?:price|prices|pricing|cost|costs|charge|rates?)\b",
        ),
    ),
    (
        Question.DURATION,
        _rx(
            r"how long (?:is|does|do|will|would|for|s)",
            r"how much time (?:is|does|do|will)",
            r"how long it takes|how long (?:a|an|the)",
        ),
    ),
    (
        Question.ADDRESS,
        _rx(
            r"where are you|where is (?:the )?(?:salon|shop|place|business)|your address",
            r"whats the address|what is the address|the address|where (?:are you|r u) located",
            r"how do i (?:find|get to) you|where do i (?:go|park)",
        ),
    ),
    (
        Question.ABOUT,
        _rx(
            r"tell me (?:a bit |a little |more )?about (?:you|the salon|your)",
            r"who are you|^(?:hi |hello |hey |um |uh )*is this (?:the |a |an )?\w+",
        ),
    ),
    (Question.OFFERS, _rx(r"^(?:hi |hello |hey |um |uh |so )*do you (?:do|offer|have|provide)")),
    (
        Question.OTHER,
        _rx(
            r"walk ?ins?|parking|park (?:nearby|outside|there|near)|wheelchair|accessible",
            r"(?:take|accept) (?:cards?|cash|credit|debit|amex|apple pay|card)|gift (?:cards?|"
            r"vouchers?|certificates?)",
        ),
    ),
    (
        Question.HOURS,
        _rx(
            r"when are you (?:open|closed|closing)|are you (?:open|closed)|how late",
            r"(?:opening|business|open) (?:hours|times)|(?:your|the) hours",
            r"what time do you (?:open|close|shut|finish)|when do you (?:open|close|shut|finish)",
            r"(?:open|closed) (?:on|this|today|tomorrow|at the weekend|on the weekend)",
        ),
    ),
    (
        Question.SERVICES,
        _rx(
            r"what (?:else )?do you (?:offer|do)$",
            r"(?:what|which) (?:services|treatments)",
            r"what (?:kind|kinds|sort|sorts|type|types) of (?:services|treatments|things)",
            r"(?:services|treatments) (?:do )?you (?:have|offer|do)|your services",
            r"what (?:do|can) you offer|what can i (?:book|get)",
        ),
    ),
]

# "Do you do massages?", "can I get a massage": an offer asked about by name.
_ASKED_FOR = re.compile(
    r"\b(?:do you (?:do|offer|have|provide)|can i (?:get|book|have)|could i (?:get|book|have)"
    r"|id like|i would like|i want|i need|looking for|book me (?:in )?for|price of|cost of"
    r"|how much (?:is|are|for|does)|how long (?:is|are|does|do)|book)"
    r"(?: (?:a|an|some|the|any|to book|to get|a full|me|in|for))*"
    r" (?P<thing>[a-z]+(?: [a-z]+)?)"
)
_NOT_A_THING = frozenset(
    {
        "appointment", "booking", "reservation", "slot", "time", "day", "it", "that", "this",
        "one", "something", "anything", "to", "you", "an", "a", "person", "someone", "message",
        "change", "cancel", "move", "help", "know", "ask", "speak", "talk", "see", "come",
        "tomorrow", "today", "next", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday", "the", "my", "your", "take", "cost", "charge", "open", "there",
        "here", "again", "please", "what", "how", "more", "same", "new", "another", "other",
        "morning", "afternoon", "evening", "week", "weekend", "back", "call", "leave",
        "check", "make", "reschedule", "just", "quick", "question", "is", "are", "does", "do",
        "on", "at", "for", "in", "with", "and", "or", "around", "about", "then", "too",
        "id", "i", "im", "like", "want", "would", "need", "if",
    }
)  # fmt: skip


# Days a caller names by holiday when asking if we're open, longest names first.
_HOLIDAYS = (
    ("christmas eve", 12, 24, "Christmas Eve"),
    ("christmas day", 12, 25, "Christmas Day"),
    ("boxing day", 12, 26, "Boxing Day"),
    ("new years eve", 12, 31, "New Year's Eve"),
    ("new years day", 1, 1, "New Year's Day"),
    ("christmas", 12, 25, "Christmas Day"),
    ("new years", 1, 1, "New Year's Day"),
)


def holiday_named(text: str, today: date) -> tuple[str, date] | None:
    """ "Are you open on Christmas Day?": (its name, its next date from today), or None."""
    norm = _normalise(text)
    for words, month, day, name in _HOLIDAYS:
        if re.search(rf"\b{words}\b", norm):
            when = date(today.year, month, day)
            return name, when if when >= today else date(today.year + 1, month, day)
    return None


def questions_in(text: str) -> list[Question]:
    """Every question the utterance asks, in a stable order (most specific first)."""
    norm = _normalise(text)
    return [kind for kind, rx in _QUESTIONS if rx.search(norm)]


# Services a caller may name with no verb ("pedicures, please", "um, a facial"): said alone,
# only these are taken for a service we may not offer, so a bare "Dana" or "hello" is not.
_SERVICE_NOUNS = frozenset(
    {
        "pedicure", "massage", "facial", "wax", "waxing", "eyebrow", "brow", "lash",
        "eyelash", "tan", "perm", "blowout", "blowdry", "threading", "extension", "makeup",
        "botox", "piercing", "tattoo", "shellac", "acrylic", "braid", "braiding", "spa",
        "sauna", "reflexology", "peel", "microblading", "lamination", "tint",
    }
)  # fmt: skip
_BARE_FILLERS = frozenset(
    {
        "um", "uh", "er", "erm", "hi", "hello", "hey", "yes", "yeah", "yep", "ok", "okay", "so",
        "a", "an", "some", "just", "please", "thanks", "thank", "you", "id", "like", "me", "the",
    }
)  # fmt: skip
# Where a day or time said after the thing begins: "a pedicure on Friday at 3".
_WHEN_STARTS = frozenset(
    {
        "on", "at", "for", "tomorrow", "today", "tonight", "this", "next", "monday", "tuesday",
        "wednesday", "thursday", "friday", "saturday", "sunday", "in", "around",
    }
)  # fmt: skip


def _bare_thing(norm: str) -> str | None:
    """ "Pedicures, please", "pedicure", "um, a facial on Friday": a service noun said alone."""
    words = norm.split()
    for i, word in enumerate(words):
        if word in _WHEN_STARTS:
            words = words[:i]
            break
    said = [w for w in words if w not in _BARE_FILLERS]
    if not 1 <= len(said) <= 2:
        return None
    last = said[-1]
    singular = last[:-1] if last.endswith("s") and not last.endswith("ss") else last
    if last not in _SERVICE_NOUNS and singular not in _SERVICE_NOUNS:
        return None
    return " ".join(said)


def service_nouns(text: str) -> list[str]:
    """Services a salon might offer named anywhere in the utterance ("my nails and a
    pedicure" -> ["pedicure"]), for telling the caller which of them we don't do."""
    found = []
    for word in _normalise(text).split():
        singular = word[:-1] if word.endswith("s") and not word.endswith("ss") else word
        if singular in _SERVICE_NOUNS and singular not in found:
            found.append(singular)
    return found


def unknown_thing(text: str, *, bare: bool = True) -> str | None:
    """The thing asked for by name ("massage" in "do you do massages?", a bare "pedicures,
    please"), for when it matched none of the business's services; None when nothing
    thing-like was named. `bare`: a noun said alone counts (not when a name was asked for:
    "Tan" answers "what name?")."""
    norm = _normalise(text)
    match = _ASKED_FOR.search(norm)
    if match is None:
        return _bare_thing(norm) if bare else None
    words = [w for w in match.group("thing").split() if w not in ("please", "tomorrow", "today")]
    if not words or words[0] in _NOT_A_THING:
        return None
    if len(words) > 1 and words[1] in _NOT_A_THING:
        words = words[:1]
    return " ".join(words)


# -- Ending without doing anything -----------------------------------------------------------

_NEVER_MIND = _rx(
    r"never ?mind|forget (?:it|about it)|dont worry(?: about it)?",
    r"(?:nah|no|nope) (?:its|thats) (?:fine|ok|okay|alright)",
    r"(?:ill|i will|ill just|i can|we ll|well) (?:call|ring|phone|try) (?:you )?"
    r"(?:back|again|later)",
    r"call (?:you )?back later|ring (?:you )?back|another time|some other time",
    r"no (?:thats|its) (?:fine|ok|okay|alright)|no thanks|no thank you|not now",
)
_WRONG_NUMBER = _rx(r"wrong number|dialled the wrong|dialed the wrong|sorry wrong")
_WANTS_MESSAGE = _rx(
    r"(?:leave|take|pass on|give (?:him|her|them)) (?:a )?(?:message|note|voicemail)",
    r"(?:can|could) you (?:tell|let) (?:them|her|him|the \w+) know",
)


_JUST_THANKS = re.compile(
    r"^(?:(?:ok|okay|oh|ah|great|perfect|lovely|cool|alright|right|brilliant|awesome|good"
    r"|got it|yes|yeah|yep|fab|fantastic|excellent|super|nice) )*"
    r"(?:thanks|thank you|thankyou|cheers|ta|many thanks)"
    r"(?: (?:so much|very much|a lot|a bunch|for that|for your help|for the help))?"
    r"(?: (?:then|again|bye|goodbye))?$"
)


def just_thanks(text: str) -> bool:
    """ "Ok thanks", "great, thank you so much": a thank-you and nothing else."""
    return bool(_JUST_THANKS.match(_normalise(text)))


def never_mind(text: str) -> bool:
    """The caller is letting it go ("nah it's fine, I'll ring back later", "never mind")."""
    return bool(_NEVER_MIND.search(_normalise(text)))


def wrong_number(text: str) -> bool:
    return bool(_WRONG_NUMBER.search(_normalise(text)))


def wants_message(text: str) -> bool:
    return bool(_WANTS_MESSAGE.search(_normalise(text)))


# -- Moves said plainly -------------------------------------------------------------------------

_MOVE_VERB = _rx(
    r"(?:move|change|shift|switch|push|bring|reschedule|rebook) (?:my|the|our|her|his) \w+",
    r"(?:change|move|switch) the (?:day|date|time)|(?:a )?different (?:day|date|time)",
    r"(?:another|other) (?:day|date|time) instead",
)
_KEEP_IT = _rx(r"(?:dont|do not|not) (?:want to )?cancel")


def wants_move(text: str, *, names_a_service: bool) -> bool:
    """A move without the booking noun: "can I move my colouring to Friday?" (a service
    named), "don't cancel it, I want to change the day"."""
    norm = _normalise(text)
    if _KEEP_IT.search(norm) and re.search(r"\b(?:change|move|different|another|other)\b", norm):
        return True
    match = _MOVE_VERB.search(norm)
    if match is None:
        return False
    return names_a_service or bool(re.search(r"\b(?:day|date|time)\b", match.group(0)))


# "Move my Monday one to Friday at 3", "change my 2:45 to 4:30", "I can't make Monday, can we
# do Wednesday instead": the words before "to"/"can we do" pick the booking, the rest is the
# new time. Read on lower-cased text with its punctuation, so "2:45" stays a clock time.
_MOVE_FROM_TO = re.compile(
    r"\b(?:move|change|shift|swap|switch|push|bring|reschedule|rebook)\s+(?:my|our|the)\s+"
    r"(?P<from>.+?)\s+(?:to|till|until)\s+(?P<to>.+)$"
)
_CANT_MAKE_INSTEAD = re.compile(
    r"\b(?:cant|cannot|can not|wont be able to|wont)\s+make\s+(?:it\s+)?(?:on\s+|at\s+)?"
    r"(?P<from>.+?)[\s,.;!]+(?:so\s+)?(?:can|could)\s+(?:we|i|you)\s+"
    r"(?:do|make it|have|go for|switch to|move it to|change it to|come)\s+(?P<to>.+)$"
)


def move_parts(text: str) -> tuple[str, str] | None:
    """(the words naming the booking, the words naming the new time) of a move said as
    "move my X to Y" or "can't make X, can we do Y"; None when it is not said that way."""
    lowered = re.sub(r"['’]", "", text.lower())
    for rx in (_MOVE_FROM_TO, _CANT_MAKE_INSTEAD):
        match = rx.search(lowered)
        if match is not None:
            return match.group("from"), match.group("to")
    return None


# "Haircut on Friday at 2 rather than Saturday", "I booked a haircut for Saturday but I'd rather
# come Friday at 2": the booking's day after "rather than"/"instead of", or before the "but".
_RATHER_THAN = re.compile(
    r"^(?P<to>.+?)[\s,]+(?:rather than|instead of)\s+(?:on\s+|at\s+)?(?P<from>.+?)[\s.!?]*$"
)
_BOOKED_BUT = re.compile(r"\b(?:booked|have|ve got|got|had)\s+(?P<from>.+?)[\s,]+but\s+(?P<to>.+)$")


def instead_parts(text: str) -> tuple[str, str] | None:
    """(the words naming the booking, the words naming the new time) of a move said as "X
    rather than Y" or "I booked X but I'd rather Y"; None when it is not said that way. Only a
    move when the booking's words name a day or time (the caller checks)."""
    lowered = re.sub(r"['’]", "", text.lower())
    match = _RATHER_THAN.search(lowered)
    if match is not None:
        return match.group("from"), match.group("to")
    match = _BOOKED_BUT.search(lowered)
    if match is not None and _MOVE_HINT.search(_normalise(match.group("to"))):
        return match.group("from"), match.group("to")
    return None


# Said about a booking the caller holds, these change it: "can we make it 11 instead", "I'd
# rather come Friday", "I'm running late", "change of plans".
_MOVE_HINT = _rx(
    r"instead|rather|prefer|(?:running|run|be|am|im|are|were|gonna be) (?:a )?(?:bit |little |few "
    r"minutes |\w+ minutes )?late",
    r"change (?:of|in) plans?|plans? (?:have |has )?changed|(?:something|it) came up",
)
_RUNNING_LATE = _rx(
    r"(?:running|run|be|am|im|are|gonna be) (?:a )?(?:bit |little |\w+ minutes )?late"
)
# "Another one", "a second haircut", "one for my son as well": a new booking, whatever is held.
_ANOTHER = _rx(
    r"another|a second|second one|one more|as well|also|additional|extra|new one|a new",
    r"both|keep (?:it|that|the|my|both|them)|(?:dont|do not|not) (?:move|change|cancel)",
)
_MOVE_ANSWER = _rx(
    r"move|change|switch|shift|reschedule|instead|rather|first one|the first|that one|swap",
)
_BOOK_VERB_PLAIN = _rx(
    r"book|booking|make an appointment|get (?:a|an)|have (?:a|an)|id like (?:a|an)"
)


def move_hint(text: str) -> bool:
    """Words that change a booking the caller holds rather than add one ("instead", "I'd
    rather", "running late", "change of plans"); only read when they hold one."""
    return bool(_MOVE_HINT.search(_normalise(text)))


def running_late(text: str) -> bool:
    return bool(_RUNNING_LATE.search(_normalise(text)))


def wants_another(text: str) -> bool:
    """ "Another one", "a second haircut", "keep both": a new booking besides the one held."""
    return bool(_ANOTHER.search(_normalise(text)))


def says_my_one(text: str) -> bool:
    """ "Could my haircut be on Friday?": the caller's own booking, with no verb of booking."""
    norm = _normalise(text)
    if not re.search(r"\bmy\b", norm) or _BOOK_VERB_PLAIN.search(norm):
        return False
    return not re.search(r"\bfor my\b", norm)


def move_or_another(text: str) -> str | None:
    """The answer to "move it, or book another one?": "move", "another", or None."""
    if wants_another(text):
        return "another"
    if _MOVE_ANSWER.search(_normalise(text)):
        return "move"
    return None


# -- The number to text -------------------------------------------------------------------------

# "Actually the one I'm calling from is fine", "same number", "this one": the caller ID. Only
# read when the number to text is being asked for.
_CALLER_ID = _rx(
    r"(?:one|number|phone) (?:im|i am) (?:calling|ringing|phoning) (?:you )?(?:from|on|with)",
    r"(?:this|same|that same) (?:one|number|phone|mobile|cell)",
    r"same as (?:this|the one|what)",
)
_NOT_CALLER_ID = _rx(r"(?:not|isnt|dont use|different from) (?:the |this |that )?(?:same|this|one)")
_YEAH_NO_FINE = _rx(
    r"(?:yeah|yea|ya|yes) no (?:thats|its|that is|it is|that ll be|thatll be) "
    r"(?:fine|ok|okay|good|great|alright|perfect)"
)


def means_caller_id(text: str) -> bool:
    """The number they are calling from, named without its digits."""
    norm = _normalise(text)
    return bool(_CALLER_ID.search(norm)) and not _NOT_CALLER_ID.search(norm)


def yeah_no_fine(text: str) -> bool:
    """ "Yeah no, that's fine": a yes, whatever the "no" in the middle."""
    return bool(_YEAH_NO_FINE.search(_normalise(text)))


# "Cancel both my appointments", "cancel all of them", "cancel everything I have".
_ALL_OF_THEM = _rx(
    r"both|them all|all (?:of )?(?:them|those|these|my|our|the)|all (?:appointments|bookings)",
    r"everything|every (?:one|booking|appointment|single one)|the lot|cancel all",
    r"all (?:\d+|three|four|five|six)",
)


def cancels_all(text: str) -> bool:
    """Every booking the caller has (or every one named), not one of them."""
    return bool(_ALL_OF_THEM.search(_normalise(text)))


# "Can you move it to 4?", "push that back": a move of "it", the booking just talked about.
_MOVE_IT = _rx(r"(?:move|change|switch|shift|push|bring|make|put) (?:it|that)")


def moves_it(text: str) -> bool:
    return bool(_MOVE_IT.search(_normalise(text)))


def said_both(text: str) -> bool:
    """ "Both": two of them, whatever else the caller has."""
    return bool(re.search(r"\bboth\b", _normalise(text)))


_LEAVE_IT = _rx(
    r"(?:leave|keep) (?:it|that|them|the \w+|my \w+)(?: (?:where it is|as it is|as is|alone|be"
    r"|how it is|the way it is|there|on|at|for|then|please|actually|thanks))?",
    r"(?:dont|do not|not) (?:move|change) (?:it|that|anything)|(?:its|it is|thats) fine (?:where"
    r"|as|how) it is|(?:no|nah) (?:leave|keep) it",
)


def leaves_it(text: str) -> bool:
    """ "Leave it where it is", "just keep it as it is", "don't move it": no change."""
    return bool(_LEAVE_IT.search(_normalise(text)))


# "Maria Lopez's haircut", "Tom's appointment": a booking named by whose it is.
_OWNED = re.compile(r"\b(?P<first>[A-Z][a-z]+)(?:\s+[A-Z][a-z]+)?['’]s\b")
_NOT_AN_OWNER = frozenset(
    {
        "it", "that", "what", "there", "here", "let", "he", "she", "who", "where", "when", "how",
        "today", "tomorrow", "tonight", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july",
        "august", "september", "october", "november", "december", "everyone", "one", "this",
        "next", "last", "week", "month", "year", "mother", "father", "valentine", "new",
    }
)  # fmt: skip
_CHANGE_VERB = _rx(r"move|change|shift|switch|push|bring|reschedule|rebook|cancel\w*")


def owner_named(text: str) -> str | None:
    """The first name in "move Maria Lopez's haircut", "cancel Tom's appointment": a booking
    asked about by whose it is; None when no one is named so."""
    if not _CHANGE_VERB.search(_normalise(text)):
        return None
    for match in _OWNED.finditer(text):
        first = match.group("first")
        if first.lower() not in _NOT_AN_OWNER:
            return first
    return None


def keeps_booking(text: str) -> bool:
    """ "Don't cancel it": whatever else they say, not a yes to a cancellation."""
    return bool(_KEEP_IT.search(_normalise(text)))


_PHONE_KIND = r"(?:mobile|cell|cellphone|cell phone|smartphone|smart phone|mobile phone)"
_NO_TEXT = _rx(
    r"landline|land line|home phone|house phone",
    rf"(?:dont|do not|doesnt|does not|havent|have not) (?:have |own |got )?(?:a |an |any )?"
    rf"{_PHONE_KIND}",
    rf"(?:no|not a|isnt a|is not a|not on a) {_PHONE_KIND}",
    r"(?:dont|do not|dont need|do not need|no need for|no) (?:want |need )?(?:a |any |the )?"
    r"(?:texts?|text message|sms|confirmation text)",
    r"(?:cant|cannot|can not|dont|do not) (?:get|receive|do|read) (?:texts|text messages|sms)",
    r"(?:dont|do not) text me",
)


def no_text_wanted(text: str) -> bool:
    """ "I don't have a mobile, it's a landline", "I don't want a text": no confirmation
    text; the booking keeps the number they call from."""
    return bool(_NO_TEXT.search(_normalise(text)))


_ANY_TIME = _rx(
    r"any ?time|whatever (?:works|suits|is free|is available|you have|you ve got)",
    r"whatevers (?:free|available|open|good)",
    r"whenever(?: works| suits| is good| you can)?$|^whenever",
    r"you (?:pick|choose|decide)|(?:up to|your call|dealers choice)(?: you)?$|up to you",
    r"(?:doesnt|does not|dont|do not) (?:matter|mind)|(?:im|i am) (?:flexible|easy)",
    r"what (?:do you have|have you got|times? (?:do you have|are free|have you got))",
)


def any_time_said(text: str) -> bool:
    """ "Any time Thursday", "whatever works", "you pick": the caller leaves the time to us."""
    return bool(_ANY_TIME.search(_normalise(text)))
