"""The read-back-and-yes rule on its own: which caller turn may agree to which read-back."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from calls.dialogue.llm.consent import Consent, Spoken

TZ = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 25)
SLOT = datetime(2026, 11, 26, 15, 0, tzinfo=TZ)  # "tomorrow at 3 PM"
FRIDAY = datetime(2026, 11, 27, 11, 0, tzinfo=TZ)
MONDAY = datetime(2026, 11, 30, 14, 0, tzinfo=TZ)
HAIRCUT = 7


class Line:
    """Caller turns and what the receptionist said in each, as the engine reports them."""

    def __init__(self, consent: Consent) -> None:
        self.consent = consent
        self.turn = 0
        self.serial = 0
        self.utterance = ""

    def caller(self, utterance: str) -> None:
        self.turn += 1
        self.utterance = utterance

    def we_say(self, *texts: str) -> None:
        spoken = []
        for text in texts:
            spoken.append(Spoken(serial=self.serial, text=text))
            self.serial += 1
        self.consent.review(turn=self.turn, spoken=spoken, today=TODAY)

    def may_book(self) -> str | None:
        return self.consent.refusal(
            self.consent.slot,
            key=("slot", HAIRCUT, SLOT),
            turn=self.turn,
            utterance=self.utterance,
            action="call book",
        )

    def may_cancel(self, booking_id: int) -> str | None:
        return self.consent.refusal(
            self.consent.cancels.get(booking_id),
            key=("cancel", booking_id),
            turn=self.turn,
            utterance=self.utterance,
            action="call cancel_booking",
        )


def checked_slot() -> Line:
    line = Line(Consent())
    line.caller("A haircut tomorrow at 3")
    line.consent.propose_slot(service_id=HAIRCUT, start=SLOT, after=line.serial, today=TODAY)
    line.we_say("A haircut tomorrow at 3 PM. Shall I book it?")
    return line


def test_only_the_turn_right_after_the_read_back_can_agree():
    line = checked_slot()
    line.caller("yes")
    assert line.may_book() is None

    line = checked_slot()
    line.caller("What time do you close?")
    line.we_say("We close at 6 PM.")
    line.caller("yes")
    assert "Read it back again" in line.may_book()


def test_a_silence_after_the_read_back_withdraws_it_too():
    line = checked_slot()
    line.caller("")  # the session's "(silence)" turn
    line.we_say("Are you still there?")
    line.caller("yes")
    assert line.may_book() is not None


def test_reading_it_back_again_renews_it():
    line = checked_slot()
    line.caller("No, hang on.")
    assert "not a clear yes" in line.may_book()
    line.we_say("Sure. So: a haircut on Thursday, November 26th at 3 PM?")
    line.caller("Yes.")
    assert line.may_book() is None


def test_a_read_back_cut_by_an_interrupt_is_withdrawn():
    line = checked_slot()
    line.caller("No, hang on.")
    line.we_say("So: a haircut tomorrow at 3 PM?")
    line.consent.review(
        turn=line.turn, spoken=[Spoken(serial=1, text="So: a haircut")], today=TODAY
    )
    line.caller("yes")
    assert line.may_book() is not None


def test_bookings_listed_together_are_not_read_back():
    line = Line(Consent())
    line.caller("I want to cancel")
    for booking_id, start in ((1, FRIDAY), (2, MONDAY)):
        line.consent.propose_cancel(
            booking_id=booking_id, start=start, after=line.serial, today=TODAY
        )
    line.we_say("I see a haircut on Friday at 11 AM and one on Monday, November 30th at 2 PM.")
    line.caller("yes")
    assert "not in a list" in line.may_cancel(1)
    assert line.may_cancel(2) is not None

    line.we_say("The one on Friday, November 27th at 11 AM: shall I cancel it?")
    line.caller("yes")
    assert line.may_cancel(1) is None
    assert line.may_cancel(2) is not None


def test_a_move_needs_the_booking_and_the_new_time_read_back():
    line = Line(Consent())
    line.caller("Can I move my haircut to tomorrow at 3?")
    line.consent.propose_cancel(booking_id=1, start=FRIDAY, after=line.serial, today=TODAY)
    line.consent.propose_cancel(booking_id=2, start=MONDAY, after=line.serial, today=TODAY)
    line.consent.propose_slot(service_id=HAIRCUT, start=SLOT, after=line.serial, today=TODAY)

    def may_move(booking_id: int) -> str | None:
        return line.consent.refusal_to_move(
            booking_id=booking_id,
            service_id=HAIRCUT,
            start=SLOT,
            turn=line.turn,
            utterance=line.utterance,
        )

    line.we_say("I can move your haircut to tomorrow at 3 PM. Shall I?")
    line.caller("yes")
    assert "which booking moves" in may_move(1)

    line.we_say("Your haircut on Friday at 11 AM, to tomorrow at 3 PM. Shall I?")
    line.caller("yes")
    assert may_move(1) is None
    assert may_move(2) is not None
    assert "not found" in may_move(3)
