"""Which of the business's services a caller is asking for.

Speech-to-text gives us things like "hare cut", "a trim" or "beard trimming", usually inside a
longer sentence. We slide a small window over the caller's words and compare it, with spaces
removed, to every service name and synonym. Short terms ("cut", "dye", "mani") must match
exactly: fuzzy matching them would turn "save" into "shave" or "bye" into "dye".
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz


@dataclass(frozen=True)
class ServiceName:
    id: int
    name: str  # "Hair colouring"
    synonyms: tuple[str, ...] = ()  # ("colour", "color", "dye", "highlights")


@dataclass(frozen=True)
class ServiceMatch:
    id: int
    name: str
    score: float  # 0-100, rapidfuzz's scale; 100 is an exact match


# Letters and digits; apostrophes are dropped so "don't" becomes one word "dont".
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHE = re.compile(r"['’]")
# A mention preceded by one of these (through fillers, see _FILLERS) is being refused.
_NEGATORS = frozenset({"not", "no", "dont", "never", "without"})
_NEGATOR_PAIRS = frozenset({("instead", "of"), ("rather", "than")})
# Words allowed between a negator and the service: "don't want a haircut", "not the colour".
_FILLERS = frozenset({"a", "an", "the", "any", "my", "some", "want", "need", "get", "to", "do"})
# A comma or full stop between "no" and the service means "No. A haircut.", not a refusal.
_CLAUSE_BREAK = re.compile(r"[,.;:!?]")

_SHORT_TERM = 5  # terms this short (without spaces) only match exactly
_MIN_SCORE = 85.0


@dataclass(frozen=True)
class _Word:
    stem: str
    raw: str
    start: int  # character offsets in the original text
    end: int


@dataclass(frozen=True)
class _Mention:
    first: int  # word indexes, inclusive
    last: int
    service: ServiceName
    score: float


def _stem(word: str) -> str:
    """Crude stemming so "trimming"/"trims"/"nails" meet "trim"/"nail"."""
    if len(word) > 5 and word.endswith("ing"):
        base = word[:-3]
        return base[:-1] if len(base) > 2 and base[-1] == base[-2] else base
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(text: str) -> list[_Word]:
    found = []
    for m in _WORD.finditer(text):
        raw = _APOSTROPHE.sub("", m.group()).lower()
        found.append(_Word(_stem(raw), raw, m.start(), m.end()))
    return found


def _term_key(term: str) -> tuple[int, str]:
    """How many words a term has, and its stemmed words joined without spaces."""
    words = _words(term)
    return len(words), "".join(w.stem for w in words)


_DOUBLED = re.compile(r"(\w)\1+")


def _sound(word: str) -> str:
    """A rough spoken form: speech-to-text writes "manny cure" for "manicure"; doubled letters
    and y/i sound alike."""
    return _DOUBLED.sub(r"\1", word.replace("y", "i").replace("ph", "f"))


@dataclass(frozen=True)
class _Term:
    service: ServiceName
    key: str  # stemmed words joined without spaces
    sound: str  # _sound(key); "" for a short term, which only matches exactly
    widths: tuple[int, ...]  # how many of the caller's words may say it


@functools.lru_cache(maxsize=64)
def _terms(services: tuple[ServiceName, ...]) -> tuple[_Term, ...]:
    """Every service's name and synonyms, worked out once per list of services (a call asks
    about the same few on every turn), in the order they are tried."""
    terms = []
    for service in services:
        for term in (service.name, *service.synonyms):
            size, key = _term_key(term)
            if not key:
                continue
            # One word more or fewer than the term: "hare cut" ~ "haircut", "haircut" ~ "hair cut".
            widths = tuple(sorted({max(1, size - 1), size, size + 1}))
            sound = _sound(key) if len(key) > _SHORT_TERM else ""
            terms.append(_Term(service, key, sound, widths))
    return tuple(terms)


def _candidates(words: list[_Word], services: Sequence[ServiceName]) -> list[_Mention]:
    """Every window of words that looks like some service's name or synonym.

    A window matches a term when they are equal, or, when both are longer than _SHORT_TERM,
    when the better of fuzz.ratio of the two and of their sounds reaches _MIN_SCORE (that is
    the score). Comparisons that cannot reach it are not made: a short term only matches
    exactly, which a lookup finds, and rapidfuzz stops early below the cut-off."""
    stems = [w.stem for w in words]
    # width -> the windows of that many words, their sounds, and where each exact text starts
    windows: dict[int, tuple[list[str], list[str], dict[str, list[int]]]] = {}

    def of_width(width: int) -> tuple[list[str], list[str], dict[str, list[int]]]:
        if width not in windows:
            texts = ["".join(stems[i : i + width]) for i in range(len(stems) - width + 1)]
            starts: dict[str, list[int]] = {}
            for first, text in enumerate(texts):
                starts.setdefault(text, []).append(first)
            sounds = [_sound(t) if len(t) > _SHORT_TERM else "" for t in texts]
            windows[width] = (texts, sounds, starts)
        return windows[width]

    found = []
    for term in _terms(tuple(services)):
        for width in term.widths:
            texts, sounds, starts = of_width(width)
            if not term.sound:
                found.extend(
                    _Mention(first, first + width - 1, term.service, 100.0)
                    for first in starts.get(term.key, ())
                )
                continue
            for first, window in enumerate(texts):
                if len(window) <= _SHORT_TERM:
                    continue  # a short window matches only itself, and the term is longer
                score = max(
                    fuzz.ratio(window, term.key, score_cutoff=_MIN_SCORE),
                    fuzz.ratio(sounds[first], term.sound, score_cutoff=_MIN_SCORE),
                )
                if score >= _MIN_SCORE:
                    found.append(_Mention(first, first + width - 1, term.service, score))
    return found


def _best_non_overlapping(candidates: list[_Mention]) -> list[_Mention]:
    """Keep the strongest reading of each stretch of words, in the order they were said."""
    chosen: list[_Mention] = []
    # Word indexes already chosen: a mention checks its own few words, not every choice so
    # far (which made a long utterance quadratic).
    used: set[int] = set()
    ranked = sorted(candidates, key=lambda m: (-m.score, -(m.last - m.first), m.first))
    for cand in ranked:
        words = range(cand.first, cand.last + 1)
        if used.isdisjoint(words):
            chosen.append(cand)
            used.update(words)
    return sorted(chosen, key=lambda m: m.first)


def _is_negated(mention: _Mention, words: Sequence[_Word], text: str) -> bool:
    """True for "not a haircut", "no colour", "don't want a trim", "instead of a manicure"."""
    i = mention.first - 1
    skipped = 0
    while i >= 0 and words[i].raw in _FILLERS and skipped < 3:
        i -= 1
        skipped += 1
    if i < 0:
        return False
    between = text[words[i].end : words[mention.first].start]
    if _CLAUSE_BREAK.search(between):
        return False
    if words[i].raw in _NEGATORS:
        return True
    return i > 0 and (words[i - 1].raw, words[i].raw) in _NEGATOR_PAIRS


@functools.lru_cache(maxsize=64)
def _reading(
    text: str, services: tuple[ServiceName, ...]
) -> tuple[tuple[_Word, ...], tuple[_Mention, ...], tuple[_Mention, ...]]:
    """The words of `text`, the services it mentions (the strongest reading of each stretch
    of words, in the order said) and those of them not refused. Kept for a few utterances:
    a turn reads the same one more than once (`service_options`, `services_together`)."""
    words = _words(text)
    mentions = _best_non_overlapping(_candidates(words, services))
    wanted = [m for m in mentions if not _is_negated(m, words, text)]
    return tuple(words), tuple(mentions), tuple(wanted)


def match_service(text: str, services: Sequence[ServiceName]) -> ServiceMatch | None:
    """The service the caller wants, or None when they did not name one, or named one that
    could be either of two (see `service_options`).

    Corrections: refused mentions ("not a haircut") are dropped whenever something else was
    mentioned; otherwise the last mention wins ("a haircut, actually make it a manicure").
    If every mention was refused we return None rather than book what they said they don't want.
    """
    options = service_options(text, services)
    return options[0] if len(options) == 1 else None


def service_options(text: str, services: Sequence[ServiceName]) -> list[ServiceMatch]:
    """The service the caller wants as a list: one, none, or the services a word they said
    fits equally ("a trim" when the business has a haircut with "trim up" and a beard trim).
    Several are asked about ("A haircut or a beard trim?"), never picked from."""
    words, mentions, wanted = _reading(text, tuple(services))
    if not wanted:
        return []
    said = wanted[-1]
    # "A trim and a colour": the one that could be either is asked about first.
    for mention in _joined(text, words, wanted) if len(wanted) > 1 else []:
        if len(_fits(mention, wanted, mentions, words, services)) > 1:
            said = mention
            break
    fits = _fits(said, wanted, mentions, words, services)
    return [ServiceMatch(id=s.id, name=s.name, score=float(said.score)) for s in fits]


def _fits(
    said: _Mention,
    wanted: Sequence[_Mention],
    mentions: Sequence[_Mention],
    words: Sequence[_Word],
    services: Sequence[ServiceName],
) -> list[ServiceName]:
    """The services one mention may mean, narrowed by what else was said."""
    fits = _also_fits(said, words, services)
    refused = {m.service.id for m in mentions if m not in wanted}
    if len(fits) > 1 and len([s for s in fits if s.id not in refused]) == 1:
        fits = [s for s in fits if s.id not in refused]  # "not a haircut, a trim"
    if len(fits) > 1:
        # "Trim my beard", "a hair trim": another word said picks one of them.
        refused_words = {i for m in mentions if m not in wanted for i in range(m.first, m.last + 1)}
        kept = [w for i, w in enumerate(words) if i not in refused_words]
        named = {m.service.id for m in wanted if m is not said}
        named |= _named_by_other_words(kept, fits)
        picked = [s for s in fits if s.id in named]
        fits = picked if len(picked) == 1 else fits
    return fits


@functools.lru_cache(maxsize=256)
def _term_words(service: ServiceName) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(w.stem for w in _words(term)) for term in (service.name, *service.synonyms))


def _also_fits(
    mention: _Mention, words: Sequence[_Word], services: Sequence[ServiceName]
) -> list[ServiceName]:
    """Every service with a name or synonym containing exactly the words of this mention: a
    short word ("trim") that is one service's synonym and a word of another's name ("beard
    trim") or synonym ("trim up") fits both. Fuzzy matches are not widened."""
    if mention.score < 100:
        return [mention.service]
    said = tuple(w.stem for w in words[mention.first : mention.last + 1])
    fits = []
    for service in services:
        for term in _term_words(service):
            if any(term[i : i + len(said)] == said for i in range(len(term) - len(said) + 1)):
                fits.append(service)
                break
    return fits if mention.service in fits else [mention.service]


# Words of a term too common to pick a service on their own ("trim up": "up").
_WEAK_WORDS = frozenset({"up", "a", "an", "the", "and", "of", "for", "with", "in", "on", "my"})


def _named_by_other_words(words: Sequence[_Word], fits: list[ServiceName]) -> set[int]:
    """Services among `fits` that another word of the utterance belongs to ("a hair trim":
    "hair" is in the haircut's "hair cut", not in the beard trim's terms). `words`: the
    words said, without refused mentions."""
    said = {w.stem for w in words} - _WEAK_WORDS
    shared = set.intersection(*({w for t in _term_words(s) for w in t} for s in fits))
    named = set()
    for service in fits:
        own = {w for t in _term_words(service) for w in t} - shared
        if own & said:
            named.add(service.id)
    return named


_TOGETHER = re.compile(
    r"^[\s,]*(?:(?:and|plus|also|with|as well as|&|then|a|an|the|some|my|our)[\s,]*)+$"
)
_JOINED = re.compile(r"\b(?:and|plus|also|with|as well as)\b|&")


def services_together(text: str, services: Sequence[ServiceName]) -> list[ServiceMatch]:
    """Every service asked for at once ("a haircut and a beard trim"), in the order said;
    empty unless two or more different ones were joined by "and"/"plus"/"with". A correction
    ("a haircut, actually a manicure") is not two."""
    words, mentions, wanted = _reading(text, tuple(services))
    joined = _joined(text, words, wanted)
    together: list[_Mention] = []
    for mention in joined:
        if len(_fits(mention, wanted, mentions, words, services)) > 1:
            return []  # "a trim and a colour": which trim is asked first (service_options)
        if all(m.service.id != mention.service.id for m in together):
            together.append(mention)
    if len(together) < 2:
        return []
    return [
        ServiceMatch(id=m.service.id, name=m.service.name, score=float(m.score)) for m in together
    ]


def services_asked_together(
    text: str, services: Sequence[ServiceName]
) -> list[tuple[ServiceMatch, ...]]:
    """Every service asked for at once, each as the services its words may mean: "a trim and
    a colour" is [(beard trim, haircut), (hair colouring,)], so that once the caller says which
    trim, the colour is still wanted. Empty unless two or more were joined by "and"/"plus"."""
    words, mentions, wanted = _reading(text, tuple(services))
    joined = _joined(text, words, wanted)
    asked = [
        tuple(
            ServiceMatch(id=s.id, name=s.name, score=float(m.score))
            for s in _fits(m, wanted, mentions, words, services)
        )
        for m in joined
    ]
    return asked if len(asked) >= 2 else []


def _joined(text: str, words: Sequence[_Word], wanted: Sequence[_Mention]) -> list[_Mention]:
    """The mentions, when every one is joined to the next by "and"/"plus"/"with"; else []."""
    for before, after in itertools.pairwise(wanted):
        between = text[words[before.last].end : words[after.first].start].lower()
        if not (_TOGETHER.match(between) and _JOINED.search(between)):
            return []
    return list(wanted)


def spoken_list(names: Sequence[str]) -> str:
    """ "Haircut, Beard trim, Hair colouring or Manicure", for offering choices out loud."""
    names = [n for n in names if n]
    if len(names) <= 1:
        return names[0] if names else ""
    return f"{', '.join(names[:-1])} or {names[-1]}"
