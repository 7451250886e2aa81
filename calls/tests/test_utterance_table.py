"""What the receptionist should understand from real caller utterances, one row per utterance.

Each row is speech-to-text as it arrives ("3 p.m.", "um", stray punctuation) and every slot a
good human receptionist would take from it, read through `hear()`, the engine's single entry
point. Today is fixed to Wednesday 25 November 2026 and the business is the Demo Salon.

Rows the extractors still get wrong stay in the table as strict xfails, with what `hear()`
returns today in the reason, so fixing an extractor turns them into XPASS failures to promote.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, time

import pytest

from calls.understanding.intents import Intent
from calls.understanding.services import ServiceName
from calls.understanding.utterance import Expecting, Heard, hear
from calls.understanding.when import plausible_times

TODAY = date(2026, 11, 25)  # a Wednesday
NOW = time(10, 0)  # the salon's local time
assert TODAY.weekday() == 2

SERVICES = (
    ServiceName(1, "Haircut", ("hair cut", "cut", "trim up")),
    ServiceName(2, "Beard trim", ("trim", "beard", "shave")),
    ServiceName(3, "Hair colouring", ("colour", "color", "dye", "highlights", "tint")),
    ServiceName(4, "Manicure", ("mani", "nails", "nail")),
)
HAIRCUT, BEARD, COLOUR, MANICURE = (s.name for s in SERVICES)

NOTHING, NAME, TIME = Expecting.NOTHING, Expecting.NAME, Expecting.TIME
PHONE, CHOICE, YES_NO = Expecting.PHONE, Expecting.CHOICE, Expecting.YES_NO
BOOK, CANCEL, MOVE, HUMAN = Intent.BOOK, Intent.CANCEL, Intent.MOVE, Intent.HUMAN
REPEAT, GOODBYE, HOURS = Intent.REPEAT, Intent.GOODBYE, Intent.HOURS

MORNING = ("09:00", "12:00")
AFTERNOON = ("12:00", "17:00")
EVENING = ("17:00", "21:00")
NEXT_WEEK = (date(2026, 11, 30), date(2026, 12, 6))
PHONE_415 = "+14155550132"


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@dataclass(frozen=True)
class Slots:
    """The slots of one utterance in a form a table can state: names, dates, "HH:MM"."""

    service: str | None = None
    day: date | None = None
    days: tuple[date, date] | None = None
    time: str | None = None  # as a salon resolves it: "at 3" is 15:00
    window: tuple[str, str] | None = None
    name: str | None = None
    phone: str | None = None
    yes: bool | None = None
    intents: frozenset[Intent] | None = None
    weekdays: frozenset[int] | None = None
    soonest: bool = False  # "as soon as you can"
    shift: int | None = None  # minutes relative to what was offered
    nudge: int = 0  # "a bit earlier" -1, "the one after that" +1
    unclear: bool = False  # a day named in a way that is asked about, not guessed
    twelve: str | None = None  # "this morning at 12": noon or midnight is asked, not guessed
    # A word that fits several services ("a trim"): asked about, none picked.
    service_options: tuple[str, ...] = ()

    @classmethod
    def of(cls, heard: Heard) -> Slots:
        when = heard.when
        clock = when.time and plausible_times(when.time, when.ampm_explicit)[0]
        return cls(
            service=heard.service and heard.service.name,
            day=when.day,
            days=when.days,
            time=clock and clock.strftime("%H:%M"),
            window=when.window and tuple(t.strftime("%H:%M") for t in when.window),
            name=heard.name,
            phone=heard.phone,
            yes=heard.yes,
            intents=heard.intents,
            weekdays=when.weekdays,
            soonest=when.soonest,
            shift=when.shift and int(when.shift.total_seconds() // 60),
            nudge=when.nudge,
            unclear=when.unclear,
            twelve=when.twelve and when.twelve.strftime("%H:%M"),
            service_options=tuple(o.name for o in heard.service_options),
        )


@dataclass(frozen=True)
class Row:
    text: str
    expecting: Expecting
    expected: Slots
    # Slots the row does not judge. Intents are judged only where the row names them. Yes/no
    # is judged after a yes/no question or a choice, or where the row states it: elsewhere
    # there is no question to answer, so the "yeah" in "Yeah hi, it's Priya" does no harm.
    unjudged: frozenset[str]


def row(text: str, expecting: Expecting = NOTHING, *, bug: str | None = None, **slots):
    """One table row. `bug` marks a row `hear()` gets wrong today (what it returns instead)."""
    unjudged = set()
    if "intents" in slots:
        slots["intents"] = frozenset(slots["intents"])
    else:
        unjudged.add("intents")
    if "yes" not in slots and expecting not in (YES_NO, CHOICE):
        unjudged.add("yes")
    marks = [pytest.mark.xfail(reason=bug, strict=True)] if bug else []
    label = f"{expecting}: {text}" if expecting != NOTHING else text
    case = Row(text, expecting, Slots(**slots), frozenset(unjudged))
    return pytest.param(case, id=label or "<silence>", marks=marks)


ROWS = [
    # --- several slots in one breath
    row(
        "Hi, this is Maria, can I get a haircut tomorrow at 3?",
        service=HAIRCUT,
        day=d(11, 26),
        time="15:00",
        name="Maria",
        intents={BOOK},
    ),
    row(
        "Hello, my name is John Smith and I'd like to book a beard trim for next Tuesday at"
        " 10 a.m.",
        service=BEARD,
        day=d(12, 1),
        time="10:00",
        name="John Smith",
        intents={BOOK},
    ),
    row(
        "Yeah hi, um, it's Priya. Do you have anything for a manicure this Friday morning?",
        service=MANICURE,
        day=d(11, 27),
        window=MORNING,
        name="Priya",
        intents={BOOK},
    ),
    row(
        "I'd like to book a colour on December 3rd at 2:30, my number is 415 555 0132.",
        service=COLOUR,
        day=d(12, 3),
        time="14:30",
        phone=PHONE_415,
        intents={BOOK},
    ),
    row(
        "Sarah here, I need a manicure the day after tomorrow.",
        service=MANICURE,
        day=d(11, 27),
        name="Sarah",
        intents={BOOK},
    ),
    row(
        "Hey, I'm David, could I come in for a hair cut Saturday around 11?",
        service=HAIRCUT,
        day=d(11, 28),
        time="11:00",
        name="David",
        intents={BOOK},
    ),
    row(
        "Hi, um, I wanted to book a tint for the 5th at half past ten.",
        service=COLOUR,
        day=d(12, 5),
        time="10:30",
        intents={BOOK},
    ),
    row(
        "Do you have any openings Thursday afternoon for a color?",
        service=COLOUR,
        day=d(11, 26),
        window=AFTERNOON,
        intents={BOOK},
    ),
    row(
        "My name's Ana and my number is six one seven, five five five, oh one four two.",
        name="Ana",
        phone="+16175550142",
    ),
    # --- days and times, every way callers say them
    row("Tomorrow at 3.", day=d(11, 26), time="15:00"),
    row("3 p.m.", TIME, time="15:00"),
    row(
        "Could I come in at 3:30?",
        time="15:30",
        intents={BOOK},
    ),
    row("Um, three thirty.", TIME, time="15:30"),
    row("Half past two on Friday, please.", day=d(11, 27), time="14:30"),
    row("How about quarter to five tomorrow?", day=d(11, 26), time="16:45"),
    row("Can I do noon on Saturday?", day=d(11, 28), time="12:00"),
    row("Next Tuesday, please.", day=d(12, 1)),
    row("This Friday morning if you have it.", day=d(11, 27), window=MORNING),
    row("Could you fit me in Monday after next?", day=d(12, 7)),
    row("Do you have anything on the 5th?", day=d(12, 5)),
    row("December 3rd.", day=d(12, 3)),
    row("In two weeks, in the afternoon.", day=d(12, 9), window=AFTERNOON),
    row("The day after tomorrow at ten.", day=d(11, 27), time="10:00"),
    row("Anytime after 4 tomorrow.", day=d(11, 26), window=("16:00", "23:59")),
    row("Sometime next week.", days=NEXT_WEEK),
    row("Sometime next week in the evening", days=NEXT_WEEK, window=EVENING),
    row("Three o'clock.", TIME, time="15:00"),
    row("Nine in the morning on Thursday.", day=d(11, 26), time="09:00"),
    row("Could I come by 7 tonight?", day=TODAY, time="19:00"),
    # 12 in the evening is midnight, the start of the next day, never noon.
    row("Can I come in this evening at 12?", day=d(11, 26), time="00:00"),
    row("12 tonight?", day=d(11, 26), time="00:00"),
    row("Tonight at 12, if you're still open", day=d(11, 26), time="00:00"),
    row("midnight tonight", day=d(11, 26), time="00:00"),
    row("tonight at 12:30", day=d(11, 26), time="00:30"),
    # 12 in the afternoon is noon; 12 in the morning could be either: asked, never guessed.
    row("This afternoon at 12.", day=TODAY, time="12:00"),
    row("Can I come this morning at 12?", day=TODAY, twelve="12:00"),
    row("um, 12 this morning", day=TODAY, twelve="12:00"),
    row("Tomorrow morning at 12 30", day=d(11, 26), twelve="12:30"),
    row("tomorrow at 12 noon", day=d(11, 26), time="12:00"),
    row("Between 2 and 4 on Thursday.", day=d(11, 26), window=("14:00", "16:00")),
    row("Is there anything this weekend?", days=(d(11, 28), d(11, 29))),
    row("Tuesday next week at 11.", day=d(12, 1), time="11:00"),
    row("The twenty-first of December.", day=d(12, 21)),
    row("Thursday the 3rd.", day=d(12, 3)),
    row("Today at 5 if possible.", day=TODAY, time="17:00"),
    row("After lunch on Friday.", day=d(11, 27), window=("13:00", "23:59")),
    row("Two weeks from Friday.", day=d(12, 11)),
    row("A week from tomorrow at 10:15.", day=d(12, 3), time="10:15"),
    row("Wednesday.", day=d(12, 2)),
    row("five fifteen", TIME, time="17:15"),
    row("Ten a.m.", time="10:00"),
    row("uh, four", TIME, time="16:00"),
    row("eleven", TIME, time="11:00"),
    row("How about 6?", time="18:00"),
    row("Dec. 12th at one", day=d(12, 12), time="13:00"),
    row("In the evening, like 6 or so.", time="18:00"),
    # --- relative and vague dates (today is Wednesday 25 November 2026, 10 AM)
    row(
        "Could I get a haircut the second Friday in January at 2?",
        service=HAIRCUT,
        day=date(2027, 1, 8),
        time="14:00",
        intents={BOOK},
    ),
    row("The first Monday of next month.", day=d(12, 7)),
    row("The last Friday of the month.", day=d(11, 27)),
    row("the third Thursday in December at 10 am", day=d(12, 17), time="10:00"),
    row("The second Friday.", unclear=True),
    row("The Friday before Christmas, in the morning.", window=MORNING, unclear=True),
    row("Something at the end of this month.", days=(d(11, 25), d(11, 30))),
    row("Late next month, afternoons.", days=(d(12, 21), d(12, 31)), window=AFTERNOON),
    row("Early next month.", days=(d(12, 1), d(12, 10))),
    row("Mid December?", days=(d(12, 11), d(12, 20))),
    row("Sometime in January.", days=(date(2027, 1, 1), date(2027, 1, 31))),
    row("Later this week.", days=(d(11, 26), d(11, 29))),
    row("Early next week, mornings.", days=(d(11, 30), d(12, 1)), window=MORNING),
    row("In two weeks.", day=d(12, 9)),
    row("In a fortnight.", day=d(12, 9)),
    row("In a week or two.", days=(d(12, 2), d(12, 9))),
    row("This coming Tuesday.", day=d(12, 1)),
    row("Two Tuesdays from now.", day=d(12, 8)),
    row(
        "After 4 any weekday.",
        days=(TODAY, d(12, 8)),
        weekdays=frozenset(range(5)),
        window=("16:00", "23:59"),
    ),
    row("Tuesdays or Thursdays are best.", days=(TODAY, d(12, 8)), weekdays=frozenset({1, 3})),
    row("A morning next week.", days=NEXT_WEEK, window=MORNING),
    row("Now, if you can.", soonest=True),
    row("As soon as you can.", soonest=True),
    row("What's the earliest you've got?", soonest=True),
    row("ASAP please", soonest=True),
    row("Whenever, really.", soonest=True),
    row("Anytime tomorrow.", day=d(11, 26)),
    # --- times relative to what was offered or read back
    row("Half an hour later.", YES_NO, shift=30),
    row("Could we do an hour earlier?", YES_NO, shift=-60),
    row("Forty-five minutes later?", YES_NO, shift=45),
    row("An hour and a half later.", YES_NO, shift=90),
    row("A bit earlier?", YES_NO, nudge=-1),
    row("Anything later?", CHOICE, nudge=1),
    row("The one after that.", CHOICE, nudge=1),
    row("The one before that, please.", CHOICE, nudge=-1),
    row("I'll call you back later.", nudge=0),
    row("Talk to you later, bye.", nudge=0, intents={GOODBYE}),
    # --- ranges, offsets and edges
    row("2-3pm tomorrow.", day=d(11, 26), window=("14:00", "15:00")),
    row("From 1 to 3 tomorrow.", day=d(11, 26), window=("13:00", "15:00")),
    row("Between 4 and 6.", window=("16:00", "18:00")),
    row("Tomorrow 10am-12pm.", day=d(11, 26), window=("10:00", "12:00")),
    row("At 3 or 4 on Friday.", day=d(11, 27), window=("15:00", "16:01")),
    row("10 minutes past 4.", time="16:10"),
    row("Twenty-five to three.", time="14:35"),
    row("In 45 minutes.", day=TODAY, time="10:45"),
    row("In an hour and a half.", day=TODAY, time="11:30"),
    row("In half an hour.", day=TODAY, time="10:30"),
    row("By noon.", window=("00:00", "12:00")),
    row("Any time after 5.", window=("17:00", "23:59")),
    row("No later than 3.", window=("00:00", "15:00")),
    row("Midnight.", TIME, time="00:00"),
    row("4 am tomorrow.", day=d(11, 26), time="04:00"),
    row("First thing tomorrow morning.", day=d(11, 26), window=("09:00", "10:00")),
    row("Thurs 3rd at 2.", day=d(12, 3), time="14:00"),
    row("Fri the 4th, please.", day=d(12, 4)),
    row("Thursday the 4th.", unclear=True),
    row("The 20th of next month.", day=d(12, 20)),
    row("At 3 o'clock am.", time="03:00"),
    row("In the afternoon, say 3ish.", time="15:00"),
    row("15 minutes before 3.", time="14:45"),
    row("Twenty minutes after 2 pm.", time="14:20"),
    row("Tomorrow at 730 in the evening.", day=d(11, 26), time="19:30"),
    row("In a few hours."),  # nothing guessed
    row("The Friday after December 3rd.", unclear=True),
    # --- speech-to-text forms: digits with spaces, number words, fillers, false starts
    row("10 30", TIME, time="10:30"),
    row("Tomorrow at 10 30.", day=d(11, 26), time="10:30"),
    row("2 15 pm", time="14:15"),
    row("9 45 in the morning", time="09:45"),
    row("at, um, at three forty five", time="15:45"),
    row("uh Friday uh I mean Thursday at like 2", day=d(11, 26), time="14:00"),
    row("three, no wait, four", TIME, time="16:00"),
    row("Tomorrow at 2, sorry, 2 30.", day=d(11, 26), time="14:30"),
    row("Monday, no, Tuesday at ten.", day=d(12, 1), time="10:00"),
    row("Text 646 555 0188, no sorry, 0189.", phone="+16465550189"),
    row("617 555 0142, sorry, 0143", PHONE, phone="+16175550143"),
    row("It's 415 555 0132, no wait, 646 555 0199.", phone="+16465550199"),
    row(
        "My number's 415 555 0132, and at 9 45, sorry, 10 15 tomorrow.",
        day=d(11, 26),
        time="10:15",
        phone=PHONE_415,
    ),
    # --- numbers that are not times or dates
    row(
        "There's 2 of us, we both need haircuts.",
        service=HAIRCUT,
    ),
    row("Just a second.", yes=None),
    row("The first available is fine.", yes=True, soonest=True),
    # --- services: names, synonyms and speech-to-text fuzz
    # "Trim" is the beard trim's word and in the haircut's "trim up": asked, never picked.
    row("I need a trim.", service_options=(HAIRCUT, BEARD), intents={BOOK}),
    row("Could I get a trim Friday?", service_options=(HAIRCUT, BEARD), day=d(11, 27)),
    row("Just a trim on my beard.", service=BEARD),
    row("A hair trim, please.", service=HAIRCUT),
    row("Not a haircut, just a trim.", service=BEARD),
    row("Just a colour please.", service=COLOUR),
    row("Can I get a mani on Saturday?", service=MANICURE, day=d(11, 28), intents={BOOK}),
    row("I want a hare cut.", service=HAIRCUT, intents={BOOK}),
    row("Beard trimming, please.", service=BEARD),
    row("I'd like to get my nails done.", service=MANICURE, intents={BOOK}),
    row("Highlights, maybe Friday?", service=COLOUR, day=d(11, 27)),
    row("Just a quick shave.", service=BEARD),
    row("I want to dye my hair.", service=COLOUR),
    row("Can you do a trim up on the sides?", service=HAIRCUT),
    row("A manny cure.", service=MANICURE),
    row("Hair colouring.", service=COLOUR),
    row("I'm trying to save some money, what's cheapest?", service=None, name=None),
    row("I'll have a haircut and, um, a beard trim.", service=BEARD),
    # --- names
    row("My name is Maria Lopez.", name="Maria Lopez"),
    row("This is Tom.", name="Tom"),
    # Booking for someone else: their name, not the caller's.
    row("No, it's for my daughter, Mia.", YES_NO, name="Mia", yes=False),
    row("It's for my son Jack, he's 8.", name="Jack"),
    row("No, it's for my husband.", YES_NO, name=None, yes=False),
    row("It's Anna.", name="Anna"),
    row("Maria", NAME, name="Maria"),
    row("uh, Jennifer Walsh", NAME, name="Jennifer Walsh"),
    row("M A R I A", NAME, name="Maria"),
    row("It's Maria, M A R I A.", NAME, name="Maria"),
    row("Yeah, it's Kevin O'Brien.", NAME, name="Kevin O'Brien"),
    row("Call me Bob.", name="Bob"),
    row("Maria Lopez, please.", NAME, name="Maria Lopez"),
    row("This is for a haircut.", service=HAIRCUT, name=None),
    row("I'm free at 3.", time="15:00", name=None),
    row("It's tomorrow at ten.", day=d(11, 26), time="10:00", name=None),
    row("I want a haircut tomorrow.", NAME, service=HAIRCUT, day=d(11, 26), name=None),
    row("Sorry?", NAME, name=None, intents={REPEAT}),
    # --- phone numbers
    row("My number is 415-555-0132.", phone=PHONE_415),
    row("It's four one five, five five five, oh one three two.", phone=PHONE_415, name=None),
    row(
        "four one five double five five oh one three two",
        PHONE,
        phone=PHONE_415,
    ),
    row("uh 6 1 7, 5 5 5, 0 1 4 2", PHONE, phone="+16175550142"),
    row("(415) 555-0132", PHONE, phone=PHONE_415),
    row("My cell is 415.555.0132.", phone=PHONE_415),
    row(
        "plus one four one five five five five oh one three two",
        PHONE,
        phone=PHONE_415,
    ),
    row(
        "Book me for 3 p.m., and my number is 415 555 0132.",
        time="15:00",
        phone=PHONE_415,
    ),
    row(
        "My number's 415 555 0132, can I come at 3 tomorrow?",
        day=d(11, 26),
        time="15:00",
        phone=PHONE_415,
    ),
    # --- corrections: the later option wins, refused ones are dropped
    row("No, make it 4.", YES_NO, time="16:00", yes=False),
    row("Actually, Wednesday would be better.", day=d(12, 2), yes=None),
    row("Not a haircut, a beard trim.", service=BEARD),
    row("No, not a haircut, a beard trim.", YES_NO, service=BEARD, yes=False),
    row("Tuesday, not Wednesday.", day=d(12, 1)),
    row("Tomorrow at 3, no wait, make it 4.", day=d(11, 26), time="16:00"),
    row("At 3, no wait, 4.", time="16:00"),
    row("Can we do Friday instead?", YES_NO, day=d(11, 27), yes=None),
    row("Make it a manicure instead of a haircut.", service=MANICURE),
    row("Sorry, I meant Thursday.", day=d(11, 26), intents=set()),
    row("Yes, but make it 4:30.", YES_NO, time="16:30", yes=None),
    # --- yes and no
    row("Yes please.", YES_NO, yes=True),
    row("Yeah, that's right.", YES_NO, yes=True),
    row("Yep.", YES_NO, yes=True),
    row("Sure, sounds good.", YES_NO, yes=True),
    row("Mm-hmm.", YES_NO, yes=True),
    row("Perfect, book it.", YES_NO, yes=True),
    row("Absolutely.", YES_NO, yes=True),
    row("No problem.", YES_NO, yes=True),
    row("Correct.", YES_NO, yes=True),
    row("No.", YES_NO, yes=False),
    row("Nope, that's wrong.", YES_NO, yes=False),
    row("No thanks.", YES_NO, yes=False),
    row("That doesn't work for me.", YES_NO, yes=False),
    row("Not really.", YES_NO, yes=False),
    row("That's not right.", YES_NO, yes=False),
    row("I'm not sure.", YES_NO, yes=None),
    row("Hmm, let me think.", YES_NO, yes=None),
    row("Mm-hmm.", YES_NO, yes=True),
    row("Uh-huh, yeah.", YES_NO, yes=True),
    row("Yep, go for it.", YES_NO, yes=True),
    row("Sure thing.", YES_NO, yes=True),
    row("That works.", YES_NO, yes=True),
    row("Yeah that'd be great.", YES_NO, yes=True),
    row("Nope.", YES_NO, yes=False),
    row("Nah.", YES_NO, yes=False),
    row("Not really, no.", YES_NO, yes=False),
    row("Yeah, no.", YES_NO, yes=False),
    row("Yeah no, that's not right.", YES_NO, yes=False),
    # --- choosing among offered times
    row("The 4 o'clock one.", CHOICE, time="16:00"),
    row("Um, the 10:30.", CHOICE, time="10:30"),
    row("The 3 pm one, please.", CHOICE, time="15:00"),
    row("Uh, the 2 o'clock one I guess.", CHOICE, time="14:00"),
    row("Two thirty works for me.", CHOICE, time="14:30", yes=True),
    row("Uh, yeah, the 2 o'clock works.", CHOICE, time="14:00", yes=True),
    row("I'd rather do the morning.", CHOICE, window=MORNING),
    # --- asking for a person, cancelling, moving, other requests
    row("Can I speak to a real person?", intents={HUMAN}),
    row("Just put me through to the manager please.", intents={HUMAN}),
    row("Operator.", intents={HUMAN}),
    row("Could you transfer me to someone?", intents={HUMAN}),
    row("I need to change my appointment.", intents={MOVE}),
    row("I need to cancel my appointment for Friday.", day=d(11, 27), intents={CANCEL}),
    row("I can't make it tomorrow.", day=d(11, 26), intents={CANCEL}),
    row("Cancel it, please.", intents={CANCEL}),
    row(
        "Can I reschedule my haircut to next Monday?",
        service=HAIRCUT,
        day=d(11, 30),
        intents={MOVE},
    ),
    row(
        "I'd like to move my appointment to Thursday at 2.",
        day=d(11, 26),
        time="14:00",
        intents={MOVE},
    ),
    row("Could you push my appointment back an hour?", shift=60, intents={MOVE}),
    row("Can you bring my manicure forward by 15 minutes?", service="Manicure", shift=-15),
    row("Can you move it to 4?", time="16:00"),
    row("Change my haircut to 3", service="Haircut", time="15:00"),
    row("Could you move it to 4 people?"),
    row("What services do you offer?", intents={Intent.LIST_SERVICES}),
    row("What time do you close on Saturday?", day=d(11, 28), intents={HOURS}),
    row("That's all, thank you, bye!", intents={GOODBYE}),
    # --- asking us to repeat
    row("Sorry?", intents={REPEAT}),
    row(
        "What was that?",
        intents={REPEAT},
    ),
    row("Can you say that again?", intents={REPEAT}),
    row("Pardon me?", intents={REPEAT}),
    row("Sorry, I didn't catch that.", intents={REPEAT}),
    # --- noise: nothing at all
    row("uh", intents=set()),
    row("Hmm.", intents=set()),
    row("...", intents=set()),
    row("", intents=set()),
    row("Um, uh...", TIME, intents=set()),
    row("hmm", NAME, intents=set()),
]


@pytest.mark.parametrize("case", ROWS)
def test_receptionist_understands(case: Row):
    heard = hear(case.text, today=TODAY, services=SERVICES, expecting=case.expecting, now=NOW)
    unjudged = {field: getattr(case.expected, field) for field in case.unjudged}
    assert replace(Slots.of(heard), **unjudged) == case.expected


def test_table_is_big_enough_to_mean_something():
    assert len(ROWS) >= 90
