import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.understanding.intents import Intent, detect_intents, pick_ordinal, yes_or_no

I = Intent  # noqa: E741  (keeps the table short)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # CANCEL
        ("cancel my appointment", {I.CANCEL}),
        ("I need to cancel my booking for Friday", {I.CANCEL}),
        ("I want to cancel", {I.CANCEL}),
        ("cancel it", {I.CANCEL}),
        ("can my appointment be cancelled", {I.CANCEL}),
        ("I can't make it", {I.CANCEL}),
        ("I won't be able to make it tomorrow", {I.CANCEL}),
        ("I can't make my appointment", {I.CANCEL}),
        ("I can't come at 3, how about 4", set()),  # while booking: another time, not a cancel
        ("No, cancel that", set()),  # "forget what you said", not "cancel my booking"
        ("what is your cancellation policy", set()),
        # MOVE
        ("reschedule", {I.MOVE}),
        ("I need to reschedule", {I.MOVE}),
        ("move my appointment", {I.MOVE}),
        ("change my booking to Friday", {I.MOVE}),
        ("push it back", {I.MOVE}),
        ("can we push it back an hour", {I.MOVE}),
        ("can you bring it forward", {I.MOVE}),
        ("I can't make it tomorrow, can we push it back to Friday?", {I.MOVE}),
        ("no, change it to 4", set()),  # edits the booking being confirmed
        # HUMAN
        ("speak to someone", {I.HUMAN}),
        ("can I talk to a person", {I.HUMAN}),
        ("operator", {I.HUMAN}),
        ("a human please", {I.HUMAN}),
        ("I want a real person", {I.HUMAN}),
        ("representative", {I.HUMAN}),
        ("the manager", {I.HUMAN}),
        ("put me through to the salon", {I.HUMAN}),
        # REPEAT: only when that is all they said
        ("sorry?", {I.REPEAT}),
        ("what?", {I.REPEAT}),
        ("pardon", {I.REPEAT}),
        ("pardon me?", {I.REPEAT}),
        ("can you repeat that", {I.REPEAT}),
        ("could you please repeat that", {I.REPEAT}),
        ("say that again", {I.REPEAT}),
        ("come again", {I.REPEAT}),
        ("sorry, what did you say?", {I.REPEAT}),
        ("I didn't catch that", {I.REPEAT}),
        ("sorry, I meant Tuesday", set()),
        ("um", set()),
        ("please", set()),
        # GOODBYE
        ("bye", {I.GOODBYE}),
        ("goodbye", {I.GOODBYE}),
        ("ok bye bye", {I.GOODBYE}),
        ("that's all", {I.GOODBYE}),
        ("nothing else", {I.GOODBYE}),
        ("no that's it thanks", {I.GOODBYE}),
        ("thanks, have a great day", {I.GOODBYE}),
        # LIST_SERVICES
        ("what do you offer", {I.LIST_SERVICES}),
        ("what services do you have", {I.LIST_SERVICES}),
        ("what kind of treatments do you do", {I.LIST_SERVICES}),
        ("what do you have tomorrow", set()),
        # HOURS
        ("when are you open", {I.HOURS}),
        ("what are your hours", {I.HOURS}),
        ("what time do you close on Saturday", {I.HOURS}),
        ("are you open on Sunday", {I.HOURS}),
        ("what are your opening times", {I.HOURS}),
        # MESSAGE
        ("leave a message", {I.MESSAGE}),
        ("can you take a message", {I.MESSAGE}),
        ("I'd like to leave a message for the owner", {I.MESSAGE}),
        # BOOK
        ("book", {I.BOOK}),
        ("I'd like to book", {I.BOOK}),
        ("appointment", {I.BOOK}),
        ("I'd like a haircut", {I.BOOK}),
        ("can I come in", {I.BOOK}),
        ("schedule", {I.BOOK}),
        ("can you schedule me for Friday", {I.BOOK}),
        ("Hi, this is Maria, can I get a haircut tomorrow at 3?", {I.BOOK}),
        ("do you have any availability on Monday", {I.BOOK}),
        # Several at once, and none.
        ("cancel my haircut and book a manicure", {I.CANCEL, I.BOOK}),
        ("Maria", set()),
        ("tomorrow at 3", set()),
        ("", set()),
    ],
)
def test_detect_intents(text, expected):
    assert detect_intents(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yes.", True),
        ("yeah", True),
        ("yep", True),
        ("yup", True),
        ("sure", True),
        ("ok", True),
        ("okay", True),
        ("alright", True),
        ("right", True),
        ("sounds good", True),
        ("that's right", True),
        ("that is correct", True),
        ("correct", True),
        ("perfect", True),
        ("please do", True),
        ("go ahead", True),
        ("book it", True),
        ("absolutely", True),
        ("of course", True),
        ("no problem", True),
        ("uh huh", True),
        ("uh-huh", True),
        ("mm-hmm", True),
        ("that works", True),
        ("yeah that works for me", True),
        ("yes please", True),
        ("um, yes", True),
        ("no", False),
        ("nope", False),
        ("nah", False),
        ("not really", False),
        ("that's wrong", False),
        ("that's not right", False),
        ("incorrect", False),
        ("don't", False),
        ("please don't", False),
        ("wait", False),
        ("hold on", False),
        ("actually no", False),
        ("no thanks", False),
        ("absolutely not", False),
        ("of course not", False),
        ("not great", False),
        ("I don't think so", False),
        ("no, make it 4", False),
        # A yes that also asks for a change is not a yes.
        ("yes but make it 4", None),
        ("sure, actually can we do Tuesday instead", None),
        ("yes no", None),
        ("I don't know", None),
        ("maybe", None),
        ("not sure", None),
        ("Tuesday", None),
        ("", None),
    ],
)
def test_yes_or_no(text, expected):
    assert yes_or_no(text) is expected


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [
        ("the first one", 3, 0),
        ("first", 2, 0),
        ("the 1st", 2, 0),
        ("the second", 3, 1),
        ("the second one please", 2, 1),
        ("the third", 3, 2),
        ("the last one", 3, 2),
        ("the latter", 2, 1),
        ("the earlier one", 2, 0),
        ("the earliest", 3, 0),
        ("the later one", 2, 1),
        ("the other one", 2, 1),  # of two, assume the first was the one we suggested
        ("the other one", 3, None),
        ("option 2", 3, 1),
        ("number two", 3, 1),
        ("option three", 3, 2),
        ("the middle one", 3, 1),
        ("the middle one", 4, None),
        ("second to last", 4, 2),
        ("not the first, the second", 3, 1),  # the last choice said wins
        ("the third", 2, None),  # only two were offered
        ("option 0", 3, None),
        ("the first one", 0, None),
        ("just a second", 3, None),
        ("first thing in the morning", 3, None),
        ("I came in last week", 3, None),
        ("the 3 o'clock one", 3, None),
        ("hmm", 3, None),
    ],
)
def test_pick_ordinal(text, count, expected):
    assert pick_ordinal(text, count) == expected


@given(st.text(), st.integers(min_value=-5, max_value=20))
def test_never_raise(text, count):
    assert detect_intents(text) <= set(Intent)
    assert yes_or_no(text) in (True, False, None)
    index = pick_ordinal(text, count)
    assert index is None or 0 <= index < count
