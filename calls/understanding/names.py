"""The caller's name, from what they said.

Three ways in: an introduction anywhere in a sentence ("this is Maria", "my name is Ann"); right
after we asked for their name, the bare answer ("Maria Lopez", "M-A-R-I-A"); or, after a
request, a capitalised name closing the sentence ("manicure Thursday at 2, Maria"). Introduction
phrases are also ordinary English ("this is for a haircut", "it's tomorrow", "I'm free at 3"),
so the words after them only count as a name when they are alphabetic and not common words.
"""

from __future__ import annotations

import re

from calls.understanding import corrections

_MAX_NAME_WORDS = 3

# "my name is", "this is", "it's", "I'm", "call me", ... followed by the name.
_INTRO = re.compile(
    r"\b(?:(?:my|the)\s+name\s+is|(?:my\s+)?name['’]?s|name\s+is|this\s+is|it['’]?s|it\s+is"
    r"|i['’]?m|i\s+am|call\s+me|you\s+can\s+call\s+me)\s+",
    re.IGNORECASE,
)
# "Maria here", "Maria speaking", at the start after a greeting.
_NAME_HERE = re.compile(
    r"^\W*(?:(?:hi|hello|hey|yeah|yes|oh|uh|um)\W+)*(?P<name>[^\W\d_][\w'’-]*"
    r"(?:\s+[^\W\d_][\w'’-]*)?)\s+(?:here|speaking)\b",
    re.IGNORECASE,
)
# Two or more single letters: "M A R I A", "m-a-r-i-a", "A. N. N."
_SPELLED = re.compile(r"(?<![\w'’])[a-z](?:[\s.,-]+[a-z](?![\w'’])){1,}", re.IGNORECASE)
# Letter pairs that are times, not spellings: "3 p.m.", "9 a m".
_NOT_SPELLINGS = frozenset({"am", "pm"})
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")
_CLAUSE_END = re.compile(r"[,.;:!?]")
# Leading noise before a bare answer: "uh, Maria", "yeah it's Maria".
_LEADING_FILLER = re.compile(
    r"^(?:\W*(?:uh+|um+|er+|erm|hmm+|oh|ok|okay|well|so|yeah|yes|sure|hi|hello|hey)\b)+\W*",
    re.IGNORECASE,
)
# Dropped from the end of a bare answer: "Maria Lopez, please" / "Maria thank you".
_TRAILING_POLITE = frozenset({"please", "thanks", "thank", "you", "here"})
# A name follows its cue closely; looking further only costs time on long input.
_LOOKAHEAD_CHARS = 120

# Common words that follow "this is"/"it's"/"I'm" but are never (or too rarely) names.
# Some real names are sacrificed ("May", "Will", "Hope") because they are far more often words.
_STOP_TEXT = """
    a about after again all also am an and any anyone anything are as at away back be because
    been before being better busy but by calling can cannot cant checking could coming did do
    does doing done dont down each either else even ever every everything fine first for free
    from get getting going gone good got great had has have having he her here hers him his how
    i id ill im in interested into is isnt it its just know late later like looking lot me might
    mine more morning most much must my need needing new next no nope nobody none nor not nothing
    now of off oh ok okay on one only or other our out over please pretty quite ready really
    right ringing same see she should so some someone something soon sorry still sure than thank
    thanks that thats the their them then there these they thing this those through to today
    tomorrow tonight too trying uh um under until up us very waiting want wanting was way we
    well were what when where which while who why will wish with wondering would wrong yeah yes
    yet you your yours
    afternoon evening night noon midnight week weekend month year hour minute time
    monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    hi hello hey bye goodbye sir madam maam mister miss mrs mr ms
    appointment booking reservation haircut cut trim beard shave colour color dye highlights
    manicure nails nail pedicure massage service services salon
    phoning asking hoping thinking planning returning regarding running
    afraid glad happy available unavailable early able unable urgent possible alright booked
    come open closed around actually half past quarter oclock curious confused important
    outside nearby existing regular customer client
    zero two three four five six seven eight nine ten eleven twelve
    mm mmm mhm mmhm mmhmm uhhuh uhuh huh hmm yep yup yeah ya yah aha ah okey alright perfect lovely
    cool brilliant cheers ta
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def _clean(word: str) -> str:
    """Lower case without apostrophes or hyphens: "Mm-hmm" -> "mmhmm", "O'Neil" -> "oneil"."""
    return re.sub(r"['’-]", "", word).lower()


def _is_name_word(word: str) -> bool:
    if not _NAME_WORD.match(word) or _clean(word) in _STOP_WORDS:
        return False
    # "I'm driving", "this is regarding": an uncapitalised -ing word is a verb; speech-to-text
    # capitalises names, so "Sterling" still gets through.
    return not (word.islower() and len(word) >= 6 and word.endswith("ing"))


def _title(word: str) -> str:
    """Title-case "maria"/"MARIA" but keep deliberate mixed case such as "McDonald"."""
    return word.title() if word.islower() or word.isupper() else word


def _leading_name(fragment: str, *, whole: bool = False) -> str | None:
    """The name at the start of fragment (up to the end of its clause), or None.

    With whole=True the entire clause must be the name (for bare answers), so "I want a haircut
    tomorrow" or "haircut please now" is not read as someone's name.
    """
    words = _CLAUSE_END.split(fragment[:_LOOKAHEAD_CHARS], maxsplit=1)[0].split()
    while whole and words and _clean(words[-1]) in _TRAILING_POLITE:
        words.pop()
    taken = []
    for word in words:
        if not _is_name_word(word) or len(taken) == _MAX_NAME_WORDS:
            if whole:
                return None
            break
        taken.append(_title(word))
    return " ".join(taken) or None


def _spelled(text: str) -> str | None:
    """A name spelled letter by letter, e.g. "M A R I A" -> "Maria"."""
    for match in _SPELLED.finditer(text):
        letters = "".join(ch for ch in match.group() if ch.isalpha())
        if letters.lower() not in _NOT_SPELLINGS:
            return letters.title()
    return None


# "It's for my daughter, Mia", "for my son Jack": the booking is for someone else, by name.
_RELATIVES = (
    r"daughter|son|wife|husband|partner|mum|mom|mother|dad|father|friend|boyfriend|girlfriend"
    r"|sister|brother|kid|child|boy|girl|grandson|granddaughter|grandma|grandmother|grandpa"
    r"|grandfather|niece|nephew|aunt|uncle|colleague|fiance|fiancee|flatmate|roommate"
)
_FOR_SOMEONE = re.compile(
    rf"\bfor\s+(?:my|our)\s+(?:little\s+|eldest\s+|youngest\s+|older\s+|younger\s+)?"
    rf"(?:{_RELATIVES})\b|\bfor\s+someone\s+else\b|\bnot\s+for\s+me\b",
    re.IGNORECASE,
)
_THEIR_NAME = re.compile(
    r"^(?:['’]s)?[\s,]*(?:(?:she|he)['’]?s|(?:her|his|their)\s+name(?:['’]?s|\s+is)|called|named"
    r"|it['’]?s)?[\s,]*",
    re.IGNORECASE,
)
# "It's for Mia": a name right after "it's for".
_FOR_NAME = re.compile(r"\b(?:it['’]?s|it\s+is|thats|that['’]s)\s+(?:actually\s+)?for\s+", re.I)


def for_someone_else(text: str) -> bool:
    """ "It's for my daughter": the booking is not for the name we have."""
    return bool(_FOR_SOMEONE.search(text))


def _named_other(text: str) -> str | None:
    for match in _FOR_SOMEONE.finditer(text):
        rest = text[match.end() : match.end() + _LOOKAHEAD_CHARS]
        rest = rest[_THEIR_NAME.match(rest).end() :]
        name = _leading_name(rest)
        if name:
            return name
    for match in _FOR_NAME.finditer(text):
        rest = text[match.end() : match.end() + _LOOKAHEAD_CHARS]
        if rest[:1].isupper() and (name := _leading_name(rest)):
            return name
    return None


def _introduced(text: str) -> str | None:
    if name := _named_other(text):
        return name
    for match in _INTRO.finditer(text):
        rest = text[match.end() : match.end() + _LOOKAHEAD_CHARS]
        skipped = len(rest) - len(_LEADING_FILLER.sub("", rest))  # "it's uh, Mike"
        name = _leading_name(rest[skipped:])
        if name:
            after = match.end() + skipped + len(name)
            return _restarted(text, _corrected(text, name, after), after)
    here = _NAME_HERE.match(text)
    if here and all(_is_name_word(w) for w in here.group("name").split()):
        return " ".join(_title(w) for w in here.group("name").split())
    return None


# "it's Jon, sorry, John with an h, John Smith": the caller corrects the name they gave.
_NAME_CORRECTION = re.compile(
    r"[,.;]\s*"
    + corrections.any_of(corrections.TAKE_BACK, corrections.RATHER, corrections.MY_BAD)
    + r"\b(?:[\s,.;]+"
    + corrections.any_of(corrections.TAKE_BACK, corrections.WAIT, corrections.RATHER, r"it['’]?s")
    + r")*[\s,.;]+",
    re.IGNORECASE,
)


def _corrected(text: str, name: str, after: int) -> str:
    """The name as finally given: after each correction that follows it, the name starting
    the next clause ("John with an h"), then each following clause that is only a name
    ("John Smith"); the last one wins, and the first clause that is not a name ends it."""
    for marker in _NAME_CORRECTION.finditer(text, after, after + _LOOKAHEAD_CHARS):
        rest = text[marker.end() : marker.end() + _LOOKAHEAD_CHARS]
        for n, clause in enumerate(_CLAUSE_END.split(rest)):
            said = _leading_name(clause.strip(), whole=True)
            said = said or (_leading_name(clause.strip()) if n == 0 else None)
            if said is None:
                break
            name = said
    return name


def _restarted(text: str, name: str, after: int) -> str:
    """ "Mike, Mike Ross" / "Ross. Mike Ross": a false start said again in full. Each following
    clause that is only a name holding the one so far (its words) replaces it."""
    for clause in _CLAUSE_END.split(text[after : after + _LOOKAHEAD_CHARS])[1:]:
        said = _leading_name(_LEADING_FILLER.sub("", clause.strip()), whole=True)
        if said is None or not set(name.lower().split()) <= set(said.lower().split()):
            break
        name = said
    return name


# "..., Maria." / "..., Maria Lopez, thanks": the last clause of a request.
_POLITE_END = re.compile(r"[,\s]*\b(?:please|thanks|thank you|cheers)[\s.!]*$", re.IGNORECASE)
_CLOSING_CLAUSE = re.compile(r",\s*(?P<name>[^,.;:!?]+?)[\s.!]*$")


def _closing_name(text: str) -> str | None:
    """A name closing a request ("manicure Thursday at 2, Maria"). Speech-to-text capitalises
    names and not the words after a comma, so every word must be capitalised."""
    text = _POLITE_END.sub("", text[-_LOOKAHEAD_CHARS:])
    match = _CLOSING_CLAUSE.search(text)
    if not match:
        return None
    words = match["name"].split()
    while words and _clean(words[-1]) in _TRAILING_POLITE:
        words.pop()
    if not words or len(words) > _MAX_NAME_WORDS:
        return None
    if all(w[:1].isupper() and _is_name_word(w) for w in words):
        return " ".join(words)
    return None


def extract_name(
    text: str, *, expecting_name: bool = False, after_request: bool = False
) -> str | None:
    """The caller's name, title-cased, or None.

    A letter-by-letter spelling wins over the spoken word (speech-to-text mangles names more
    often than letters), but only when a name was introduced or we just asked for it.
    `after_request`: the utterance asked for something (a service or a time), so a name may
    close it.
    """
    name = _introduced(text)
    if name is None and after_request:
        name = _closing_name(text)
    if name is None and expecting_name:
        bare = _LEADING_FILLER.sub("", text)
        name = _leading_name(bare, whole=True)
        if name is not None:
            name = _restarted(text, name, len(text) - len(bare) + len(name))
    if name is None and not expecting_name:
        return None
    if name is not None and not expecting_name and not _introduced(text):
        return name  # a closing name is never a spelling
    spelled = _spelled(text)
    return spelled or name
