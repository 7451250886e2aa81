"""The embedded receptionist: a slot-filling conversation with no network, the default engine.

Each caller utterance is read whole (calls.understanding.utterance.hear): service, day and
time, name and phone may arrive in any order, in one breath, or as corrections. The engine
decides what to ask or say next; the booking desk (calls.dialogue.desk) does every action and
owns consent: a booking, move or cancellation is written only for exactly what was just read
back, and only when the caller's next words are a yes. Questions (hours, prices, "when is my
appointment?") are answered and the caller is taken back to what they were doing. Answers are
short sentences for text-to-speech: no symbols, times said naturally.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from bookings.models import Booking, Service
from bookings.providers.base import ProviderUnavailable
from bookings.slots import Refusal
from calls.dialogue.base import CallContext, DialogueEngine, EngineState
from calls.dialogue.consent import Change
from calls.dialogue.desk import (
    NOT_FOUND,
    NOT_FOUND_HELP,
    Desk,
    all_set,
    upper_first,
    with_article,
)
from calls.dialogue.offer_choice import answer_to_offers, when_without_one
from calls.dialogue.speech import (
    DAY_NAMES,
    UNAVAILABLE_WORDS,
    on_day,
    ordinal,
    say_date,
    say_day,
    say_list,
    say_offers,
    say_time,
    say_window,
)
from calls.understanding.intents import Intent, pick_ordinal
from calls.understanding.names import for_someone_else
from calls.understanding.phones import digits_said, phone_from_digits, speak_digits, speak_phone
from calls.understanding.requests import (
    Question,
    any_time_said,
    cancels_all,
    holiday_named,
    instead_parts,
    just_thanks,
    keeps_booking,
    leaves_it,
    means_caller_id,
    move_hint,
    move_or_another,
    move_parts,
    moves_it,
    never_mind,
    no_text_wanted,
    owner_named,
    questions_in,
    running_late,
    said_both,
    says_my_one,
    service_nouns,
    unknown_thing,
    wants_another,
    wants_message,
    wants_move,
    wrong_number,
    yeah_no_fine,
)
from calls.understanding.services import (
    ServiceMatch,
    ServiceName,
    match_service,
    services_asked_together,
    services_together,
)
from calls.understanding.utterance import Expecting, Heard, hear
from calls.understanding.when import WINDOWS, WhenParse, parse_when, plausible_times

logger = logging.getLogger(__name__)
# A weekday alone ("make that Wednesday"), with no date, "next" or "this" to fix which one.
_BARE_WEEKDAY = re.compile(
    r"^(?!.*\b(?:next|this|coming|following|week|the \d|\d+(?:st|nd|rd|th))\b).*"
    r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.IGNORECASE,
)

OPEN_QUESTION = "Is there anything else I can help with, or would you like to book something?"
SAME_QUESTION_MAX = 2  # the same question asked at most this often, then other ways out
# "and a colour?", "what about the manicure?": the question before, about another service.
_FOLLOW_UP = re.compile(r"^\W*(?:and|what about|how about|same for)\b", re.IGNORECASE)
SPAN_DAYS_SEARCHED = 14
# The halves of the day in an answer to "noon or midnight?".
_DAY_HALF = re.compile(r"\b(?:noon|midday|mid day|afternoon|lunch\w*|day ?time|p\.? ?m\b)")
_NIGHT_HALF = re.compile(r"\b(?:midnight|night\w*|a\.? ?m\b)")

__all__ = ["EmbeddedEngine", "with_article"]


class Step(enum.StrEnum):
    GATHER = "gather"  # collecting what to book (or the new time of a move)
    OFFERED = "offered"  # times offered, waiting for a pick
    CONFIRM_PHONE = "confirm_phone"
    CONFIRM = "confirm"  # a change read back, waiting for the yes
    WHICH_BOOKING = "which_booking"  # the caller's bookings listed, waiting for a pick
    MOVE_OR_ANOTHER = "move_or_another"  # "move your Saturday haircut, or book another one?"
    OFFER_MESSAGE = "offer_message"  # "would you like to leave a message?"
    TAKE_MESSAGE = "take_message"
    OFFER_HELP = "offer_help"  # after the same question twice
    DONE = "done"


@dataclass
class Request:
    """What the caller wants booked, as far as we know it."""

    service: Service | None = None
    day: date | None = None
    time: time | None = None
    ampm_explicit: bool = False
    window: tuple[time, time] | None = None
    days: tuple[date, date] | None = None
    start: datetime | None = None  # set once availability said yes
    name: str | None = None
    phone: str | None = None
    phone_confirmed: bool = False
    weekdays: frozenset[int] | None = None  # only these weekdays within `days`
    soonest: bool = False  # "as soon as you can": the first free times
    latest_first: bool = False  # "a bit earlier": the free times nearest before, first
    ambiguous: bool = False  # the day could be read as another date: say the date
    no_text: bool = False  # "I don't have a mobile": the number called from, and no text


class EmbeddedEngine(DialogueEngine):
    name = "embedded"
    label = "Embedded receptionist (no network)"

    def __init__(self, context: CallContext) -> None:
        super().__init__(context)
        self.desk = Desk(context, self.state)
        self.request = Request(phone=context.caller_number or None)
        self.step = Step.GATHER
        self.expecting = Expecting.NOTHING
        self.offers: list[datetime] = []
        self.moving: Booking | None = None  # the booking being moved, when moving
        self.candidates: list[Booking] = []  # listed for "which one?"
        self._just_told: list[Booking] = []
        # "A trim": the services the word fits, asked about ("A haircut or a beard trim?").
        self.service_options: tuple[ServiceMatch, ...] = ()
        # "A trim and a colour": every service asked for, the trim as its options, kept while
        # "which trim?" is asked; and once it is answered, the services to book one by one.
        self.asked_together: list[tuple[ServiceMatch, ...]] = []
        self.chosen_together: list[ServiceMatch] = []
        self.twelve_asked: time | None = None  # "noon or midnight?" asked about this clock
        self.phone_start = ""  # "212 555": the first digits of a number said in pieces
        # A returning caller: the name their earlier bookings were under, used in the read-back
        # (where they agree to it or say who it's for), looked up once.
        self.name_looked_up = False
        self.name_from_file = False
        self.someone_else = False  # "it's for my daughter": not the name on file
        self._last_questions: list[Question] = []  # for a follow-up: "and a colour?"
        self.purpose = ""  # what the listed booking is for: "move" or "cancel"
        self.new_when = WhenParse()  # a move's new time, said before we knew which booking
        self.owner: str | None = None  # "Maria's haircut": whose booking this turn names
        self.left_list: list[Booking] = []  # listed, then "no": "the haircut" still picks
        # Asked "move your Saturday haircut, or book another one?": those held, and what was said.
        self.held: list[Booking] = []
        self.held_asked: Heard | None = None
        # "Monday the 8th" (a Tuesday): the days asked between, "Tuesday the 8th, or Monday?"
        # Kept until a day is given: a name said meanwhile does not make it today.
        self.day_options: tuple[date, ...] = ()
        self.other_day_asked = False  # "Would another day work?": a yes is asked which day
        # "An hour earlier" this turn: from when, and which way (True: later), for the offers.
        self.shifted_from: tuple[datetime, bool] | None = None
        self.pending: Change | None = None  # read back, waiting for the yes
        # "A haircut and a beard trim": booked one at a time, the rest offered after.
        self.also_book: list[ServiceMatch] = []
        self.offering_next = False  # "shall I book the beard trim too?" asked
        self.heard_answer = ""  # the last answer as the caller heard it (cut by interrupts)
        self.last_answer = ""
        self.history: list[tuple[str, str]] = []
        self._asked: tuple = ()
        self._asked_times = 0
        self.message_asked = 0  # "what would you like me to pass on?" asked this often
        self._missed_now = False  # this turn's answer asks again for want of understanding
        self._services_by_id = {s.pk: s for s in context.services}
        self._service_names = [
            ServiceName(id=s.pk, name=s.name, synonyms=s.synonym_list) for s in context.services
        ]

    @property
    def state(self) -> EngineState:
        return self._state

    @state.setter
    def state(self, value: EngineState) -> None:
        # One record of the call, whichever engine speaks (a handover replaces it): the desk
        # writes the outcome into the same one.
        self._state = value
        if "desk" in self.__dict__:
            self.desk.state = value

    # -- The contract ------------------------------------------------------------------

    async def respond(self, utterance: str) -> AsyncIterator[str]:
        self.history.append(("caller", utterance))
        self._missed_now = False
        self.chosen_together = []  # only for the turn that answers "which trim?"
        try:
            answer = await self._answer(utterance)
            answer = self._not_again(answer)
        except Exception:
            logger.exception("Embedded engine failed on call %s", self.context.call_sid)
            self.state.events.append(("engine_error", "the embedded engine raised"))
            self.pending = None
            answer = "Sorry, something went wrong on my side. Could you say that again?"
        self.ending = self.desk.ending
        if self.ending is not None:
            self.step = Step.DONE
        self.last_answer = self.heard_answer = answer
        self.history.append(("receptionist", answer))
        yield answer

    def heard(self, spoken: str) -> None:
        # A read-back the caller talked over counts only for what they heard of it.
        self.heard_answer = spoken
        if self.history and self.history[-1][0] == "receptionist":
            self.history[-1] = ("receptionist", spoken)

    def respond_to_digits(self, digits: str) -> AsyncIterator[str]:
        if digits == "0":
            return self.respond("operator")
        return self.respond(" ".join(digits))

    # -- Taking over a call from another engine ------------------------------------------

    def seed(
        self,
        *,
        service: Service | None = None,
        start: datetime | None = None,
        name: str | None = None,
        phone: str | None = None,
        phone_confirmed: bool = False,
    ) -> None:
        """Start from what another engine gathered (the LLM engine hands its call over when
        the model fails). The time is checked again and the booking read back before a yes."""
        r = self.request
        if service is not None:
            r.service = self._services_by_id.get(service.pk, service)
        if start is not None:
            self._set_start_from(start)
        if name:
            r.name = name
        if phone:
            r.phone, r.phone_confirmed = phone, phone_confirmed

    async def resume(self) -> str:
        """This turn's answer for the request as it stands (after `seed`): the next question."""
        await self.desk.open()
        answer = await self._next_step()
        self.last_answer = self.heard_answer = answer
        self.history.append(("receptionist", answer))
        return answer

    # -- One turn ------------------------------------------------------------------------

    async def _answer(self, utterance: str) -> str:
        text = utterance.strip()
        await self.desk.open()
        # Whatever the caller says now answers the read-back, or withdraws it.
        pending, self.pending = self.pending, None
        self.owner = None
        left_list, self.left_list = self.left_list, []
        # The bookings the last answer told the caller about ("cancel it" means that one).
        self._just_told, self.desk.told = self.desk.told, []
        if self.step == Step.DONE:
            return "Thanks for calling. Goodbye!"
        if not re.search(r"[A-Za-z0-9]", text):
            self.pending = pending
            return self._missed(f"Sorry, I didn't catch that. {self._prompt_again()}")
        self.someone_else = self.someone_else or for_someone_else(text)
        heard = hear(
            text,
            today=self._today(),
            services=self._service_names,
            expecting=self.expecting,
            now=self.context.clock().astimezone(self._tz()).time(),
        )
        heard = self._noon_or_midnight(heard, text)
        # "The 10:45 one", "that's the one": the "one" is an offer, never 1 o'clock.
        heard = replace(heard, when=when_without_one(text, heard.when, today=self._today()))
        day_options = self.day_options if self.request.day is None else ()
        self.day_options = day_options
        other_day_asked, self.other_day_asked = self.other_day_asked, False
        self.shifted_from = None
        if day_options:
            heard = self._day_chosen(day_options, heard, text)
        else:
            heard = self._weekday_near_the_day(heard, text)
        intents = heard.intents

        if Intent.REPEAT in intents and self.last_answer:
            self.pending = pending  # said again in full: a yes after it still counts
            return self.last_answer
        if Intent.HUMAN in intents:
            return self._to_a_person()
        if self.expecting == Expecting.PHONE or self.step == Step.CONFIRM_PHONE:
            pieces = self._phone_in_pieces(heard, text)
            if isinstance(pieces, str):
                return pieces
            heard = pieces
        if self.step == Step.TAKE_MESSAGE:
            return self._take_message(heard, text)
        if wrong_number(text):
            return "No problem at all. " + self.desk.goodbye()
        if self.step == Step.OFFER_MESSAGE or self.step == Step.OFFER_HELP:
            answer = self._after_offering(heard, text)
            if answer is not None:
                return answer
        if Intent.MESSAGE in intents or wants_message(text):
            return self._start_message()
        if self.moving is not None and leaves_it(text) and self._about_the_moving(heard):
            return self._leave_the_move()
        if pending is not None:
            return await self._after_read_back(pending, heard, text)
        if self.offering_next:
            self.offering_next = False
            if heard.yes is False or never_mind(text) or Intent.GOODBYE in intents:
                self.also_book = []
                return self.desk.goodbye()
        if self.step == Step.WHICH_BOOKING:
            answer = await self._which_booking(heard, text)
            if answer is not None:
                return answer
        if self.step == Step.MOVE_OR_ANOTHER:
            answer = await self._moved_or_another(heard, text)
            if answer is not None:
                return answer
        letting_go = Intent.GOODBYE in intents or (
            never_mind(text) and heard.yes is not True and self.step != Step.CONFIRM_PHONE
        )
        # "Ok thanks" after an answer, with nothing being booked: the caller is done.
        thanked = just_thanks(text) and self.step == Step.GATHER and self._nothing_started()
        letting_go = letting_go or (thanked and not self.offers)
        # "Oh ok, never mind then" after hearing we don't offer it: the "ok" is no yes.
        no_service = self.request.service is None and self.moving is None
        letting_go = letting_go or (never_mind(text) and no_service and self.step == Step.GATHER)
        if not heard.has_booking_details and (
            letting_go
            or (heard.yes is False and self.step == Step.GATHER and self._nothing_started())
        ):
            return self.desk.goodbye()
        split = self._move_split(text) if self.moving is None else None
        questions = questions_in(text) or self._same_question_about(text, heard)
        if Question.OFFERS in questions and (heard.service is None or not heard.when.is_empty):
            # "Do you have anything Friday?", "do you do a haircut at 2?": a booking request.
            questions = [q for q in questions if q != Question.OFFERS]
        holiday = holiday_named(text, self._today()) if Question.HOURS in questions else None
        if holiday is not None and len(questions) == 1:
            return f"{self.desk.hours_on_holiday(*holiday)} {self._back_to_it()}"
        if questions and not (Intent.CANCEL in intents or Intent.MOVE in intents or split):
            answer = await self._answer_questions(questions, heard)
            starting = self.step == Step.GATHER and self._nothing_started()
            if questions == [Question.OFFERS] and starting and heard.service is not None:
                self._absorb(heard)  # "yes" next books one
                return f"{answer} Would you like to book one?"
            if Question.OTHER in questions and starting:
                self.step = Step.OFFER_MESSAGE
                self.expecting = Expecting.YES_NO
                return (
                    "I'm sorry, I don't know that one. I can take a message and the team will "
                    "call you back. Would you like to leave one?"
                )
            if Intent.BOOK in intents and heard.service and Question.HOURS not in questions:
                changed, ack = self._absorb(heard)
                return f"{answer} {await self._next_step()}"
            return f"{answer} {self._back_to_it()}"
        move = Intent.MOVE in intents or wants_move(
            text, names_a_service=heard.service is not None or bool(heard.service_options)
        )
        self.owner = owner_named(text) if self.moving is None else None
        if self.owner and Intent.CANCEL not in intents and not keeps_booking(text):
            move = True  # "move Maria Lopez's haircut to Friday"
        if split is not None:
            return await self._start(heard, purpose="move", split=split)
        if move and self.moving is None:
            return await self._start(heard, purpose="move")
        if self._moves_by_offset(heard) or self._moves_the_one_told(text, heard):
            return await self._start(heard, purpose="move")
        if Intent.CANCEL in intents and not keeps_booking(text):
            return await self._start(
                heard,
                purpose="cancel",
                everything=cancels_all(text),
                both=said_both(text),
                text=text,
            )
        if left_list and heard.service and heard.when.is_empty and not intents:
            # "No" to the list, then "the haircut": that one, for what it was listed for.
            named = self.desk.matching(left_list, service_id=heard.service.id, when=None)
            if len(named) == 1 and self.purpose == "cancel":
                return self._propose_cancel(named[0])
            if len(named) == 1 and self.purpose == "move":
                return await self._start_move_of(named[0], replace(heard, when=self.new_when))
        answer = await self._move_or_another(heard, text)
        if answer is not None:
            return answer
        heard = self._service_chosen(heard, text)
        if heard.service_options and self.moving is None:
            return self._ask_which_service(heard, text)
        bare = self.expecting != Expecting.NAME
        if heard.service is None and (thing := unknown_thing(text, bare=bare)):
            # "A pedicure on Friday at 3": the day and time said are kept for another service.
            self._absorb(heard)
            then = self._prompt_again() if self.request.service else "Would you like one of those?"
            return f"{self.desk.not_offered(thing)} {then}"

        picked = None
        if self.step == Step.OFFERED:
            choice = answer_to_offers(text, heard, self.offers, today=self._today())
            if choice is not None and choice.none:
                self._absorb(replace(heard, when=WhenParse()))
                self.offers = []
                self._ask(Expecting.WHEN)
                return "No problem. What other day or time would suit you?"
            if choice is not None and choice.among:
                return self._offer_again_among(choice.among)
            picked = choice.picked if choice is not None else None
        if picked is not None:
            # "The first one" is a choice, not "1 o'clock": keep the time out of the reading.
            heard = replace(heard, when=WhenParse())
        one_at_a_time = ""
        together = services_together(text, self._service_names) if self.moving is None else []
        together, self.chosen_together = together or self.chosen_together, []
        if together:
            heard = replace(heard, service=together[0])
            self.also_book = together[1:]
            one_at_a_time = (
                f"I can book those one at a time. Let's start with the {together[0].name.lower()}."
            )
        not_offered = self._not_offered_beside(heard, text) if not together else ""
        changed, ack = self._absorb(heard)
        ack = f"{not_offered} {one_at_a_time} {ack}".strip()
        r = self.request
        untimed = r.time is None and r.window is None and not r.soonest and r.start is None
        if r.service is not None and untimed and picked is None and any_time_said(text):
            # "Any time Thursday", "whatever works": the free times that day, or the first.
            if r.day is not None or r.days is not None:
                r.window = (time(0), time(23, 59))
            else:
                self._absorb_when(WhenParse(soonest=True))
            changed.add("when")
        if picked is not None:
            self._set_start_from(picked)
            changed.add("when")
        if heard.when.twelve is not None and heard.when.time is None:
            # "This morning at 12": the day is kept, the time asked about, never guessed.
            self.twelve_asked = heard.when.twelve
            self._ask(Expecting.TIME)
            noon = heard.when.twelve.replace(hour=12)
            if noon.minute == 0:
                return "Sorry, do you mean noon or midnight?"
            return f"Sorry, do you mean {say_time(noon)} or {say_time(noon.replace(hour=0))}?"
        if heard.when.unclear and heard.when.day is None and heard.when.days is None:
            # "The Friday before Christmas": ask, never guess a day (a time said is kept).
            self._ask(Expecting.WHEN)
            options = tuple(d for d in heard.when.either if d >= self._today())
            if options:
                return self._ask_which_day(options)
            return (
                "Sorry, I'm not sure which day you mean. Could you tell me the day and date, "
                "like Friday the 11th?"
            )
        asking_number = self.step == Step.CONFIRM_PHONE or self.expecting == Expecting.PHONE
        caller_id = self.context.caller_number
        if asking_number and "phone" not in changed and caller_id and means_caller_id(text):
            # "Actually the one I'm calling from is fine", even after a no.
            self.request.phone, self.request.phone_confirmed = caller_id, True
            changed.add("phone")
        if asking_number and heard.phone is None and caller_id and no_text_wanted(text):
            # "I don't have a mobile, it's a landline": booked under the number they call
            # from, with no text (the read-back says so).
            r = self.request
            r.phone, r.phone_confirmed, r.no_text = caller_id, True, True
            self.phone_start = ""
            changed.add("phone")
        if self.step == Step.CONFIRM_PHONE and yeah_no_fine(text):
            heard = replace(heard, yes=True)
        if self.step == Step.CONFIRM_PHONE and "phone" not in changed:
            if heard.yes is True:
                self.request.phone_confirmed = True
                changed.add("phone")
            elif heard.yes is False:
                self.request.phone = None
                self.step = Step.GATHER
                self.expecting = Expecting.PHONE
                return "What number should I text the confirmation to?"
        if not changed and heard.yes is True and self.step == Step.GATHER and other_day_asked:
            # "Yes" to "would another day work?": which one, never the same day again.
            r = self.request
            r.day, r.days, r.start = None, None, None
            self.other_day_asked = True
            self._ask(Expecting.WHEN)
            return self._missed("Sure. Which day would suit you?")
        if not changed and heard.yes is True and self.step == Step.GATHER:
            answer = await self._next_step()
            if answer == self.last_answer:
                self._missed_now = True  # a yes to a question that wants more: at most twice
            return answer  # "yes" to "would you like to make a new one?"
        if not changed and not (Intent.BOOK in intents or Intent.MOVE in intents):
            return self._missed(f"Sorry, I didn't quite get that. {self._prompt_again()}")
        answer = await self._next_step()
        return f"{ack} {answer}".strip()

    # -- After a read-back -----------------------------------------------------------------

    async def _after_read_back(self, pending: Change, heard: Heard, text: str) -> str:
        asked = questions_in(text)
        if pending.no_text and heard.phone is None and no_text_wanted(text):
            # "I don't want a text" again, after "... and no text": said already, not a no.
            return f"Right, no text. {self._read_back_change(pending)}"
        about_it = heard.service is None or heard.service.id == pending.service.pk
        details = replace(heard, service=None).has_booking_details or not about_it
        if asked and heard.yes is not True and not details:
            # "Wait, how much is that?" is a question, not a no: answered, then the read-back
            # again for a fresh yes.
            answer = await self._answer_questions(asked, heard)
            return f"{answer} {self._read_back_change(pending)}"
        if heard.yes is False or keeps_booking(text):
            self.desk.declined()
        if pending.action == "cancel":
            if keeps_booking(text) and wants_move(text, names_a_service=True):
                return await self._start_move_of(pending.booking, heard)
            if heard.yes is False or keeps_booking(text):
                if never_mind(text) and not re.search(r"\bother\b", text.lower()):
                    return "Okay, I'll leave it as it is. " + self.desk.goodbye()
                return await self._not_that_one(pending, heard, text)
        if heard.yes is True and self._another_time(pending, heard.when):
            # "11:30 is fine" to a read-back at 11: a change, never a yes to 11.
            heard = replace(heard, yes=None)
            refusal = "another time said"
        else:
            refusal = self.desk.agree(pending, heard=self.heard_answer, utterance=text)
        if refusal is None:
            return await self._commit(pending)
        letting_go = never_mind(text) or Intent.GOODBYE in heard.intents
        if heard.yes is not True and letting_go and not heard.has_booking_details:
            self.desk.declined()
            nothing = "nothing's been booked" if pending.action == "book" else "nothing's changed"
            return f"No problem, {nothing}. " + self.desk.goodbye()
        if pending.action == "cancel" and heard.has_booking_details:
            return await self._start(heard, purpose="cancel")
        if heard.yes is True:
            # A yes to a read-back the caller did not hear in full (they talked over it).
            return f"Just to be sure: {self._read_back_change(pending)}"
        if pending.action == "cancel":
            return self._missed(f"Sorry, I need a yes or a no. {self._read_back_change(pending)}")
        changed, ack = self._absorb(heard)
        if changed:
            answer = await self._next_step()
            return f"{ack} {answer}".strip()
        if pending.action == "book" and for_someone_else(text):
            # "No, it's for my daughter": the name read back is not theirs; who is it for?
            self.request.name, self.name_from_file, self.someone_else = None, False, True
            self._ask(Expecting.NAME)
            return "Of course. What name shall I put it under?"
        if heard.yes is False:
            self.step = Step.GATHER
            self.expecting = Expecting.NOTHING
            if pending.action == "move":
                return "No problem, it stays as it is for now. What day and time would suit you?"
            return (
                "No problem. What would you like to change: the service, the day and time, "
                "the name or the number?"
            )
        if questions_in(text):
            # Answered; the read-back no longer counts, so it is said again for a fresh yes.
            answer = await self._answer_questions(questions_in(text), heard)
            return f"{answer} {self._read_back_change(pending)}"
        # Not a yes: the read-back is said again in full, so a yes answers all of it.
        return self._missed(f"Sorry, I need a yes or a no. {self._read_back_change(pending)}")

    def _another_time(self, change: Change, when: WhenParse) -> bool:
        """A day or time said with a yes that is not the one read back."""
        if when.is_empty:
            return False
        start = change.start.astimezone(self._tz())
        if when.shift is not None or when.nudge or when.window or when.days or when.soonest:
            return True
        if when.day is not None and when.day != start.date():
            return True
        said = when.time
        return said is not None and (said.hour % 12, said.minute) != (start.hour % 12, start.minute)

    async def _commit(self, change: Change) -> str:
        done = await self.desk.commit(change)
        if done.ok and change.action == "book" and self.also_book:
            return self._offer_next(change, done)
        if done.ok:
            return done.words
        self.request.start = None
        if done.reason == Refusal.CHANGED:
            # Staff changed the booking since its read-back: nothing was written.
            self.moving = None
            self._ask(Expecting.NOTHING)
            return f"{done.explanation} What would you like to do?"
        if done.reason == Refusal.UNAVAILABLE:
            return self._offer_message_instead(done.explanation)
        if change.action == "book" and done.alternatives:
            return self._offer(done.alternatives, lead="I'm sorry, that time was just taken.")
        return self._offer(done.alternatives, lead=done.explanation)

    def _offer_next(self, change: Change, done) -> str:
        """Booked the first of several services asked for together: offer the next one, right
        after it, instead of saying goodbye."""
        following = self.also_book.pop(0)
        self.desk.ending = None
        r = self.request
        r.service = self._services_by_id[following.id]
        after = change.start + change.service.duration
        r.day, r.days, r.window, r.weekdays = after.date(), None, None, None
        r.time, r.ampm_explicit, r.start = after.time(), True, None
        self.offers = []
        self.step = Step.GATHER
        self.expecting = Expecting.YES_NO
        self.offering_next = True
        booked = all_set(change)
        return (
            f"{booked} Shall I book the {following.name.lower()} too, right after, at "
            f"{say_time(after)}?"
        )

    async def _not_that_one(self, pending: Change, heard: Heard, text: str) -> str:
        """ "No, the other one" / "no, the Monday one" to a cancellation read-back."""
        if pending.together:  # "no, just the Monday one" to "shall I cancel both?"
            service_id = heard.service.id if heard.service else None
            named = self.desk.matching(pending.bookings, service_id=service_id, when=heard.when)
            if (heard.service or not heard.when.is_empty) and len(named) == 1:
                return self._propose_cancel(named[0])
            self.step = Step.GATHER
            self.candidates = []
            return "Okay, I'll leave them as they are. Is there anything else I can help with?"
        others = [b for b in self.candidates if b.pk != pending.booking.pk]
        if not others:
            bookings = await self.desk.callers_bookings() or []
            others = [b for b in bookings if b.pk != pending.booking.pk]
        named = self.desk.matching(
            others, service_id=heard.service.id if heard.service else None, when=heard.when
        )
        if heard.service or not heard.when.is_empty:
            others = named
        if re.search(r"\bother\b", text.lower()) or heard.service or not heard.when.is_empty:
            if len(others) == 1:
                return self._propose_cancel(others[0])
            if others:
                return self._list_for("cancel", others)
        self.step = Step.GATHER
        self.candidates = []
        return "Okay, I'll leave it as it is. Is there anything else I can help with?"

    # -- Which booking ---------------------------------------------------------------------

    def _move_split(self, text: str) -> tuple[WhenParse, WhenParse] | None:
        """A move said as "move my Monday one to Friday at 3": (when the booking is, when it
        should be), when the first part names a time or day; else None."""
        parts = move_parts(text)
        instead = parts is None and (parts := instead_parts(text)) is not None
        if instead and not (self.step == Step.GATHER and self._nothing_started()):
            return None  # "Friday rather than Saturday" while booking corrects the booking
        if parts is None:
            return None
        before, after = parts
        today, now = self._today(), self.context.clock().astimezone(self._tz()).time()
        picked = parse_when(before, today=today, now=now)
        if picked.is_empty and (instead or match_service(before, self._service_names) is None):
            return None  # "a haircut rather than a colour" moves nothing
        return picked, parse_when(after, today=today, now=now)

    async def _start(
        self,
        heard: Heard,
        *,
        purpose: str,
        split: tuple[WhenParse, WhenParse] | None = None,
        everything: bool = False,
        both: bool = False,
        text: str = "",
    ) -> str:
        bookings = await self.desk.callers_bookings()
        if self.owner:
            # "Maria Lopez's haircut": only hers, and only under the number calling.
            owner = self.owner.lower()
            theirs = [b for b in bookings or [] if owner in b.customer_name.lower().split()]
            if not theirs:
                self.step = Step.OFFER_MESSAGE
                self.expecting = Expecting.YES_NO
                return (
                    "I can only change a booking from the number it was made under, and I "
                    f"don't see one for {self.owner} under the number you're calling from. I "
                    "can take a message and the team will sort it out and call you back. "
                    "Would you like to leave one?"
                )
            bookings = theirs
        if bookings is None:
            self.step = Step.OFFER_MESSAGE
            self.expecting = Expecting.YES_NO
            return (
                "I can only find bookings by the number you're calling from, and it's withheld. "
                "Would you like to leave a message instead?"
            )
        if not bookings:
            self.step = Step.OFFER_MESSAGE
            self.expecting = Expecting.YES_NO
            return f"{NOT_FOUND} {NOT_FOUND_HELP} Would you like to leave one?"
        service_id = heard.service.id if heard.service else None
        # For a move, the time said is usually the new one ("move my colouring to Friday"),
        # unless it was said as "move my Monday one to Friday": Monday picks the booking.
        when = heard.when if purpose == "cancel" else None
        if split is not None:
            when, heard = split[0], replace(heard, when=split[1])
        matches = self.desk.matching(bookings, service_id=service_id, when=when)
        # "Cancel my trim": a word that fits a haircut and a beard trim means whichever of
        # them is booked (both listed when both are), never another service.
        options = {o.id for o in heard.service_options} if service_id is None else set()
        if options:
            matches = [b for b in matches if b.service_id in options]
        told = [b for b in matches if b.pk in {t.pk for t in self._just_told}]
        if len(told) == 1 and service_id is None and (when is None or when.is_empty):
            matches = told  # "cancel it", just after hearing about that one
        if split is not None and when.time is not None:
            hour = when.time.hour % 12
            matches = [b for b in matches if self.desk.local(b.start).hour % 12 == hour]
        if purpose == "cancel" and not everything:
            answer = self._cancel_the_ones_named(text, bookings, when)
            if answer is not None:
                return answer
        if everything and purpose == "cancel" and matches:
            if len(matches) > 2 and both:
                # "Both" of three: which two is not guessed.
                listed = say_list([self.desk.say_booking(b) for b in matches], "and")
                self._list_for("cancel", matches)
                return (
                    f"You have {len(matches)} bookings: {listed}. Shall I cancel all "
                    f"{len(matches)}, or which one?"
                )
            return self._propose_cancel_all(matches, only=len(bookings) == 1)
        lead = ""
        if not matches:
            named = with_article(heard.service.name.lower() if heard.service else "booking")
            if options:
                named = say_list([with_article(o.name) for o in heard.service_options])
            booked = service_id is None or any(b.service_id == service_id for b in bookings)
            if options:
                booked = any(b.service_id in options for b in bookings)
            if booked and (split is not None or when is not None):
                lead = f"I don't have {named} for you then."  # booked, but not on the day said
            else:
                lead = f"I don't see {named} booked under this number."
            matches = bookings
        if len(matches) == 1 and not lead:
            if purpose == "cancel":
                return self._propose_cancel(matches[0])
            return await self._start_move_of(matches[0], heard)
        if len(matches) == 1 and purpose == "cancel":
            return f"{lead} {self._propose_cancel(matches[0])}"
        self.new_when = heard.when if purpose == "move" else WhenParse()
        return f"{lead} {self._list_for(purpose, matches)}".strip()

    async def _move_or_another(self, heard: Heard, text: str) -> str | None:
        """A caller holding a booking of the service they name, at the start: "instead",
        "rather", "running late", "change of plans" or "my haircut" with no verb of booking
        move it; "another", "as well" book one more; anything else is asked, never guessed."""
        if self.step != Step.GATHER or not self._nothing_started() or self.offers:
            return None
        if self.someone_else or wants_another(text) or not self.context.caller_number:
            return None
        service = heard.service
        my_one = service is not None and not heard.when.is_empty and says_my_one(text)
        hint = move_hint(text) or my_one
        if service is None and not (hint and not heard.service_options):
            return None
        bookings = await self.desk.callers_bookings()
        held = [b for b in bookings or [] if service is None or b.service_id == service.id]
        if not held:
            return None
        if hint and service is None and running_late(text):
            # "I'm running late": the booking today, when there is one.
            today = [b for b in held if self.desk.local(b.start).date() == self._today()]
            if len(today) == 1:
                return await self._start_move_of(today[0], heard)
        if hint:
            return await self._start(heard, purpose="move")
        lead = ""
        horizon = self._schedule().horizon
        if heard.when.day is not None and heard.when.day > self._today() + horizon:
            # Past the booking horizon: said first, and no move offered to that day.
            lead = f"I'm sorry, we only take bookings up to {horizon.days} days ahead. "
            heard = replace(heard, when=WhenParse())
        self.held, self.held_asked = held, heard
        self.step = Step.MOVE_OR_ANOTHER
        self.expecting = Expecting.CHOICE
        return lead + self._move_or_another_question()

    def _move_or_another_question(self, *, again: bool = False) -> str:
        """ "You have a haircut on Saturday at 2 PM. Move it to Friday at 2 PM, or book another
        one?"; asked again (after an answer that was neither) in one sentence."""
        held, heard = self.held, self.held_asked
        assert heard is not None
        listed = say_list([self.desk.say_booking(b, full=True) for b in held], "and")
        when = heard.when
        to = ""
        if when.day is not None and when.time is not None:
            start = self._resolve(when.day, when.time, when.ampm_explicit)
            to = f" to {say_date(when.day)} at {say_time(start)}"
        elif when.day is not None:
            to = f" to {say_date(when.day)}"
        elif when.time is not None:
            to = f" to {say_time(self._resolve(self._today(), when.time, when.ampm_explicit))}"
        if to and when.time is None and when.window is not None:
            to += f" {say_window(when.window)}"  # "Thursday morning": the morning kept
        it = "it" if len(held) == 1 else "one of them"
        if again:
            return self._missed(f"Sorry, should I move {listed}{to}, or book another one?")
        have = listed.replace("your ", "a ", 1) if len(held) == 1 else listed
        return f"You have {have}. Move {it}{to}, or book another one?"

    async def _moved_or_another(self, heard: Heard, text: str) -> str | None:
        """The answer to "move it, or book another one?"."""
        held, asked = self.held, self.held_asked
        assert asked is not None
        lowered = text.lower()
        one = re.search(r"\bones?\b", lowered) and not re.search(
            r"\b1\b|\bone (?:o ?clock|thirty|fifteen|forty|[ap]\.? ?m\b)", lowered
        )
        keep_asked = heard.when.is_empty or bool(one)  # "another one" is not 1 o'clock
        said = replace(asked, when=asked.when if keep_asked else heard.when)
        choice = move_or_another(text)
        if choice is None and self.someone_else:
            choice = "another"
        if choice is None:
            if never_mind(text) or Intent.GOODBYE in heard.intents or questions_in(text):
                self.step, self.held, self.held_asked = Step.GATHER, [], None
                return None
            return self._move_or_another_question(again=True)
        self.step, self.held, self.held_asked = Step.GATHER, [], None
        if choice == "move":
            if len(held) == 1:
                return await self._start_move_of(held[0], said)
            self.new_when = said.when
            return self._list_for("move", held)
        self._absorb(said)
        _, ack = self._absorb(replace(heard, service=None, when=WhenParse()))
        return f"{ack} {await self._next_step()}".strip()

    def _cancel_the_ones_named(
        self, text: str, bookings: list[Booking], when: WhenParse | None
    ) -> str | None:
        """ "Cancel my haircut and my manicure": every booking of the services named, read
        back together for one yes (one not booked is said); None unless two were named."""
        together = services_together(text, self._service_names) if text else []
        if not together:
            return None
        ids = {t.id for t in together}
        named = self.desk.matching(
            [b for b in bookings if b.service_id in ids], service_id=None, when=when
        )
        if not named:
            return None
        missing = [t for t in together if all(b.service_id != t.id for b in named)]
        lead = " ".join(
            f"I don't see {with_article(t.name)} booked under this number." for t in missing
        )
        if len(named) == 1:
            return f"{lead} {self._propose_cancel(named[0])}".strip()
        if len(named) > len(together):
            # Two haircuts and a manicure: which of them is not guessed.
            listed = say_list([self.desk.say_booking(b) for b in named], "and")
            self._list_for("cancel", named)
            return f"You have {listed}. Shall I cancel all {len(named)}, or which one?"
        return f"{lead} {self._propose_cancel_all(named)}".strip()

    def _not_offered_beside(self, heard: Heard, text: str) -> str:
        """ "My nails and a pedicure": the pedicure we don't do is said, never dropped."""
        if heard.service is None or self.moving is not None:
            return ""
        missing = [
            noun for noun in service_nouns(text) if match_service(noun, self._service_names) is None
        ]
        if not missing:
            return ""
        said = say_list([n if n.endswith(("s", "ing")) else f"{n}s" for n in missing], "or")
        name = heard.service.name.lower()
        return f"I'm sorry, we don't offer {said}, so I'll book just the {name}."

    def _about_the_moving(self, heard: Heard) -> bool:
        """Nothing said but (maybe) the day and time the booking being moved already has."""
        when = replace(heard, service=None).when
        if when.is_empty:
            return True
        assert self.moving is not None
        start = self.desk.local(self.moving.start)
        day_fits = when.day is None or when.day == start.date()
        time_fits = when.time is None or when.time.hour % 12 == start.hour % 12
        return day_fits and time_fits and when.days is None and when.window is None

    def _leave_the_move(self) -> str:
        """ "Leave it where it is": the move is dropped and the caller told it stays."""
        booking = self.moving
        assert booking is not None
        self.desk.declined()
        self.moving, self.pending, self.offers = None, None, []
        self.request = Request(phone=self.context.caller_number or None)
        self.step, self.expecting = Step.GATHER, Expecting.NOTHING
        return (
            f"No problem, I'll leave {self.desk.say_booking(booking, full=True)} as it is. "
            "Is there anything else I can help with?"
        )

    def _list_for(self, purpose: str, bookings: list[Booking]) -> str:
        self.candidates = list(bookings)
        self.purpose = purpose
        self.step = Step.WHICH_BOOKING
        self.expecting = Expecting.CHOICE
        if len(bookings) == 1:
            verb = "cancel" if purpose == "cancel" else "move"
            return f"I see {self.desk.say_booking(bookings[0])}. Shall I {verb} that one?"
        return self.desk.which_one(bookings)

    async def _which_booking(self, heard: Heard, text: str) -> str | None:
        candidates = self.candidates
        if self.purpose == "cancel" and len(candidates) > 1 and cancels_all(text):
            return self._propose_cancel_all(candidates)
        index = pick_ordinal(text, len(candidates))
        chosen: Booking | None = candidates[index] if index is not None else None
        if chosen is None and (heard.service or not heard.when.is_empty):
            named = self.desk.matching(
                candidates, service_id=heard.service.id if heard.service else None, when=heard.when
            )
            if len(named) == 1:
                chosen = named[0]
        if chosen is None and len(candidates) == 1 and heard.yes is True:
            chosen = candidates[0]
        if chosen is None:
            other = re.search(r"\bother\b", text.lower()) and len(candidates) > 2
            if other and not never_mind(text):
                # "No, the other one" of three: which is not guessed; asked again.
                listed = self.desk.which_one(candidates)
                return self._missed(f"Sorry, I didn't catch which. {listed}")
            if heard.yes is False or never_mind(text):
                self.step = Step.GATHER
                self.candidates = []
                self.left_list = list(candidates)  # "the haircut" next still picks from it
                return "Okay, I'll leave them as they are. Is there anything else I can help with?"
            return None
        if self.purpose == "cancel":
            return self._propose_cancel(chosen)
        return await self._start_move_of(chosen, replace(heard, when=self.new_when))

    def _propose_cancel_all(self, bookings: list[Booking], *, only: bool = False) -> str:
        """ "Cancel both": every one read back, one yes cancels them all. With just one
        booking, the caller hears that it is the only one before a yes can cancel it."""
        if len(bookings) == 1:
            read_back = self._propose_cancel(bookings[0])
            if not only:
                return read_back
            return f"You only have one booking with us: {read_back[:1].lower()}{read_back[1:]}"
        self.candidates = list(bookings)
        return self._read_back_change(self.desk.change_to_cancel_all(bookings))

    def _propose_cancel(self, booking: Booking) -> str:
        change = self.desk.change_to_cancel(booking)
        self.candidates = self.candidates or [booking]
        return self._read_back_change(change)

    async def _start_move_of(self, booking: Booking, heard: Heard) -> str:
        self.moving = booking
        self.candidates = []
        r = self.request
        r.service = self._services_by_id.get(booking.service_id, booking.service)
        r.name, r.phone, r.phone_confirmed = booking.customer_name, booking.customer_phone, True
        r.day = r.time = r.window = r.days = r.start = None
        self.offers = []
        self._absorb_when(heard.when)
        lead = f"I see {self.desk.say_booking(booking, full=True)}."
        if r.day or r.time or r.days or r.window:
            answer = await self._next_step()
            # A read-back names the booking already; anything else says which one first.
            return answer if self.step == Step.CONFIRM else f"{lead} {answer}"
        self._ask(Expecting.WHEN)
        return f"{lead} What day and time would you like instead?"

    # -- The number, in pieces --------------------------------------------------------------

    def _phone_in_pieces(self, heard: Heard, text: str) -> Heard | str:
        """ "212 555" ... "0 1 9 9": the first part is kept and the rest asked for ("2 1 2,
        5 5 5, and then?"); the whole number is then read back digit by digit for a yes."""
        start, self.phone_start = self.phone_start, ""
        digits = digits_said(text) if heard.phone is None else None
        if digits is None or len(digits.lstrip("+")) < 3:  # "a different one" is no digit
            letting_go = never_mind(text) or Intent.GOODBYE in heard.intents
            if start and not (heard.has_booking_details or letting_go or questions_in(text)):
                self.phone_start = start  # "uh, hang on": the first part is still good
                return self._missed(f"Take your time. I have {speak_digits(start)} so far.")
            return heard
        if not start and (heard.yes is True or not heard.when.is_empty):
            return heard  # "no, make it 9 45 in the morning" moves the time; it starts no number
        whole = start + digits
        number = phone_from_digits(whole)
        if number is not None:
            return replace(heard, phone=number, when=WhenParse())
        if len(whole.lstrip("+")) >= 10:
            self._ask(Expecting.PHONE)
            return self._missed(
                "Sorry, I didn't get the whole number. Could you say it again from the start?"
            )
        self.phone_start = whole
        r = self.request
        if self.step == Step.CONFIRM_PHONE:
            r.phone, r.phone_confirmed = None, False
        self._ask(Expecting.PHONE)
        return f"{speak_digits(whole)}, and then?"

    # -- Noon or midnight ----------------------------------------------------------------

    def _noon_or_midnight(self, heard: Heard, text: str) -> Heard:
        """The answer to "do you mean noon or midnight?": "noon", "in the afternoon", "PM",
        "midnight", "at night". A time said in full is read as said."""
        twelve, self.twelve_asked = self.twelve_asked, None
        if twelve is None or heard.when.time is not None:
            return heard
        words = text.lower()
        if _DAY_HALF.search(words):
            hour = 12
        elif _NIGHT_HALF.search(words):
            hour = 0
        else:
            return heard
        when = replace(
            heard.when, time=twelve.replace(hour=hour), ampm_explicit=True, window=None, twelve=None
        )
        return replace(heard, when=when)

    # -- Which service ---------------------------------------------------------------------

    def _service_chosen(self, heard: Heard, text: str) -> Heard:
        """The answer to "A haircut or a beard trim?": a service named, or "the first one"."""
        options, self.service_options = self.service_options, ()
        asked, self.asked_together = self.asked_together, []
        if not options or heard.service_options:
            return heard
        if heard.service is None:
            index = pick_ordinal(text, len(options))
            if index is None:
                return heard
            heard = replace(heard, service=options[index], when=WhenParse())
        self.chosen_together = self._together_with(heard.service, options, asked)
        return heard

    @staticmethod
    def _together_with(
        chosen: ServiceMatch, options: tuple[ServiceMatch, ...], asked: list
    ) -> list[ServiceMatch]:
        """The services asked for together, with the one asked about now known: "a trim and a
        colour", "the haircut" -> [haircut, hair colouring]. Empty when the choice was not
        one of the options, or another service still needs asking about."""
        ids = {o.id for o in options}
        if chosen.id not in ids:
            return []
        together: list[ServiceMatch] = []
        for group in asked:
            if {g.id for g in group} == ids:
                service = chosen
            elif len(group) == 1:
                service = group[0]
            else:
                return []
            if all(t.id != service.id for t in together):
                together.append(service)
        return together if len(together) >= 2 else []

    def _ask_which_service(self, heard: Heard, text: str) -> str:
        """A word that fits several services is asked about, never picked; whatever else was
        said (the day, the time, the name, another service asked for with it) is kept."""
        self.service_options = heard.service_options
        if self.moving is None:
            self.asked_together = services_asked_together(text, self._service_names)
        self._absorb(replace(heard, service_options=()))
        self._ask(Expecting.SERVICE)
        names = [with_article(option.name) for option in heard.service_options]
        return self._missed(f"{upper_first(say_list(names))}?")

    # -- Questions -------------------------------------------------------------------------

    def _same_question_about(self, text: str, heard: Heard) -> list[Question]:
        """ "How much is a cut?" ... "and a colour?": the last price or duration question, about
        the service now named."""
        follow_up = _FOLLOW_UP.match(text) and len(text.split()) <= 6
        if not follow_up or heard.service is None or not heard.when.is_empty:
            return []
        return [q for q in self._last_questions if q in (Question.PRICE, Question.DURATION)]

    async def _answer_questions(self, questions: list[Question], heard: Heard) -> str:
        self._last_questions = list(questions)
        service = self._services_by_id.get(heard.service.id) if heard.service else None
        if service is None and questions[0] in (Question.PRICE, Question.DURATION):
            options = [self._services_by_id.get(o.id) for o in heard.service_options]
            if options and all(options):
                # "What do you charge for a trim?": the price of each service it could be.
                said = [await self.desk.answer(questions[0], service=o) for o in options]
                return " ".join(said)
            service = self.request.service
        answers = [
            await self.desk.answer(q, service=service, when=heard.when) for q in questions[:2]
        ]
        return " ".join(answers)

    def _back_to_it(self) -> str:
        """After a question: back to what the caller was doing, or an open question."""
        if self.step in (Step.CONFIRM, Step.CONFIRM_PHONE, Step.OFFERED, Step.WHICH_BOOKING):
            return self._prompt_again()
        if self.request.service is not None or self.moving is not None:
            return self._prompt_again()
        if self.last_answer.endswith(OPEN_QUESTION):  # asked once already: not word for word
            return "Anything else?"
        return OPEN_QUESTION

    # -- Reading the caller ------------------------------------------------------------

    def _absorb(self, heard: Heard) -> tuple[set[str], str]:
        """Fold what was heard into the request; returns which parts changed and a few words
        acknowledging a correction ("Saturday then.")."""
        changed: set[str] = set()
        acks: list[str] = []
        r = self.request
        if heard.service and self.moving is None:
            service = self._services_by_id.get(heard.service.id)
            if service and service != r.service:
                if r.service is not None:
                    acks.append(f"{service.name} then.")
                r.service, r.start = service, None
                changed.add("service")
        if not heard.when.is_empty:
            before = (r.day, r.time, r.window, r.days)
            had = r.day is not None or r.time is not None
            if self._absorb_when(heard.when):
                changed.add("when")
                if had and any(before):
                    acks.append(self._when_ack(heard.when))
        if (
            heard.name
            and heard.name != r.name
            and not (
                heard.service
                and self.expecting != Expecting.NAME
                and heard.name.lower() in heard.service.name.lower()
            )
        ):
            if r.name is not None:
                acks.append(
                    f"For {heard.name}, then."
                    if self.name_from_file
                    else f"Sorry, {heard.name} then."
                )
                self.name_from_file = False
            r.name = heard.name
            changed.add("name")
        if heard.phone and (heard.phone != r.phone or not r.phone_confirmed):
            if r.phone is not None and r.phone_confirmed and heard.phone != r.phone:
                acks.append(f"Got it, {speak_phone(heard.phone)}.")
            r.phone, r.phone_confirmed, r.no_text = heard.phone, True, False
            changed.add("phone")
        return changed, " ".join(a for a in acks if a)

    def _when_ack(self, when: WhenParse) -> str:
        today = self._today()
        if when.day is not None and when.time is None:
            return f"{upper_first(say_day(when.day, today))} then."
        if when.time is not None:
            day = self.request.day or today
            start = self._resolve(day, when.time, when.ampm_explicit)
            words = say_time(start)
            if when.day is not None:
                words = f"{say_day(when.day, today)} at {words}"
            return f"{upper_first(words)} then."
        return ""

    def _absorb_when(self, when: WhenParse) -> bool:
        r = self.request
        if when.shift is not None or when.nudge:
            return self._absorb_relative(when)
        before = (r.day, r.time, r.window, r.days, r.weekdays, r.soonest)
        if when.day is not None:
            # A new day alone keeps the time already asked for ("actually Wednesday").
            r.day, r.days, r.weekdays, r.ambiguous = when.day, None, None, when.ambiguous
        elif when.days is not None:
            r.days, r.day, r.weekdays, r.ambiguous = when.days, None, when.weekdays, False
        if when.time is not None:
            r.time, r.ampm_explicit, r.window = when.time, when.ampm_explicit, None
        elif when.window is not None:
            r.window, r.time = when.window, None
        if when.past:
            r.day = when.day
        if when.soonest:
            r.soonest, r.time = True, None
            if r.day is None and r.days is None:
                today = self._today()
                r.days = (today, today + timedelta(days=SPAN_DAYS_SEARCHED))
        r.latest_first = False
        after = (r.day, r.time, r.window, r.days, r.weekdays, r.soonest)
        if after != before:
            r.start = None
            self.offers = []
            return True
        return False

    def _absorb_relative(self, when: WhenParse) -> bool:
        """ "Half an hour later", "a bit earlier", "the one after that": relative to the time
        read back or offered, else the time asked for, else the booking being moved."""
        r = self.request
        later = (when.shift or timedelta(0)) > timedelta(0) or when.nudge > 0
        reference = r.start
        if reference is None and self.offers:
            reference = self.offers[-1] if later and when.nudge else self.offers[0]
            if len(self.offers) > 1 and r.day is not None and r.time is not None:
                reference = self._resolve(r.day, r.time, r.ampm_explicit)
        if reference is None and r.day is not None and r.time is not None:
            reference = self._resolve(r.day, r.time, r.ampm_explicit)
        if reference is None and self.moving is not None:
            reference = self.moving.start
        if reference is None:
            return False  # later than what? asked again
        reference = reference.astimezone(self._tz())
        if when.shift is not None:
            self._set_start_from(reference + when.shift)
            self.shifted_from = (reference, later)
            return True
        r.day, r.days, r.weekdays, r.time, r.soonest = reference.date(), None, None, None, False
        step = timedelta(minutes=1)
        if later:
            r.window = ((reference + step).time(), time(23, 59))
        else:
            # Offered times must end inside the window: starts up to just before the reference.
            end = reference - step + r.service.duration if r.service else reference - step
            r.window = (time(0), min(end, reference.replace(hour=23, minute=59)).time())
        r.latest_first = not later
        r.start = None
        self.offers = []
        return True

    def _set_start_from(self, moment: datetime) -> None:
        local = moment.astimezone(self._tz())
        r = self.request
        r.day, r.time, r.ampm_explicit, r.window, r.days = (
            local.date(),
            local.time(),
            True,
            None,
            None,
        )
        r.start = None
        self.offers = []

    # -- Deciding what to say next ------------------------------------------------------

    async def _next_step(self) -> str:
        r = self.request
        if r.service is None:
            self._ask(Expecting.SERVICE)
            return f"What would you like to book? We offer {self.desk.service_list()}."
        if r.start is None:
            answer = await self._find_start()
            if answer is not None:
                return answer
        if r.name is None and self.moving is None:
            await self._name_on_file()
        if r.name is None:
            asked_already = self.expecting == Expecting.NAME  # "mm-hmm" is not a name
            self._ask(Expecting.NAME)
            if asked_already:
                return self._missed("Sorry, what name shall I put the booking under?")
            if self.someone_else:
                return "Great. What name shall I put it under?"
            return "Great. Can I take your name, please?"
        if r.phone is None:
            self._ask(Expecting.PHONE)
            return f"Thanks, {r.name}. What's the best number to text your confirmation to?"
        if not r.phone_confirmed:
            self.step = Step.CONFIRM_PHONE
            self.expecting = Expecting.YES_NO
            return (
                f"Thanks, {r.name}. Shall I text the confirmation to the number you're calling "
                f"from, ending in {speak_phone(r.phone)[-7:]}?"
            )
        if self.moving is not None:
            return self._read_back_change(self.desk.change_to_move(self.moving, r.start))
        return self._read_back_change(
            self.desk.change_to_book(
                r.service,
                r.start,
                r.name,
                r.phone or "",
                for_someone_else=self.someone_else,
                no_text=r.no_text,
            )
        )

    async def _name_on_file(self) -> None:
        """A caller whose number booked before under a name is not asked it again: the read-back
        names them, and the number on their bookings is the one they're calling from."""
        if self.name_looked_up or self.someone_else:
            return
        self.name_looked_up = True
        known = await self.desk.name_on_file()
        r = self.request
        if known and r.phone == self.context.caller_number:
            r.name, r.phone_confirmed, self.name_from_file = known, True, True

    def _read_back_change(self, change: Change) -> str:
        self.pending = change
        self.step = Step.CONFIRM
        self.expecting = Expecting.YES_NO
        return self.desk.read_back(change)

    async def _find_start(self) -> str | None:
        """Turn day/time/window into a checked start, or say what we need or can offer."""
        r = self.request
        today = self._today()
        if r.day is None and r.days is None and self.day_options:
            # "Monday the 8th" asked about and not answered yet: asked again, never today.
            self._ask(Expecting.WHEN)
            return self._missed(self._ask_which_day(self.day_options))
        if r.day is not None and r.day < today:
            r.day = None
            self._ask(Expecting.WHEN)
            return "That date has already passed. Which day would you like to come in?"
        if r.day is None and r.days is None and self.moving is not None and r.time is not None:
            # "Move my 2:45 to 4:30": the same day, not today.
            r.day = self.desk.local(self.moving.start).date()
        if r.day is None and r.days is None:
            if r.time is not None:
                start = self._resolve(today, r.time, r.ampm_explicit)
                if start <= self.context.clock() + self._schedule().min_notice:
                    self._ask(Expecting.WHEN)
                    return f"Which day would you like to come in at {say_time(start)}?"
                r.day = today
            elif r.window is not None:
                return await self._offer_in_days(
                    (today, today + timedelta(days=SPAN_DAYS_SEARCHED))
                )
            else:
                self._ask(Expecting.WHEN)
                return f"What day and time would you like for your {r.service.name.lower()}?"
        if r.days is not None:
            return await self._offer_in_days(r.days)
        if r.time is None and r.window is None and self.moving is not None:
            # "Move it to Monday": the same time of day, on the new day.
            r.time, r.ampm_explicit = self.desk.local(self.moving.start).time(), True
        if r.time is None:
            vague = r.window is None and not r.soonest
            schedule = self._schedule().for_service(r.service.pk)
            if vague and not schedule.offers_on(r.day):
                return await self._check(self._resolve(r.day, time(12), True), closed_day_only=True)
            if vague:
                self._ask(Expecting.TIME)
                return f"What time {on_day(self._say_day(r.day))} would suit you?"
            return await self._offer_in_days((r.day, r.day))
        return await self._check(self._resolve(r.day, r.time, r.ampm_explicit))

    async def _check(self, start: datetime, *, closed_day_only: bool = False) -> str | None:
        checked = await self.desk.check(self.request.service, start, moving=self.moving)
        if checked.available and not closed_day_only:
            self.request.start = start
            return None
        if checked.unchanged:
            self._ask(Expecting.WHEN)
            return f"{checked.explanation} When would you like to move it to?"
        lead = checked.explanation or self.desk.explain(checked.reason, start, self.request.service)
        if checked.reason == Refusal.UNAVAILABLE:
            return self._offer_message_instead(lead)
        alternatives = checked.alternatives
        if self.moving is not None:  # its own slot is no other time
            alternatives = [a for a in alternatives if a != self.moving.start]
        if self.shifted_from is not None:
            # "An hour earlier" when that is taken: only earlier times, else the nearest
            # earlier ones that day ("a bit earlier").
            reference, later = self.shifted_from
            alternatives = [a for a in alternatives if (a > reference if later else a < reference)]
            if not alternatives:
                self._absorb_relative(WhenParse(nudge=1 if later else -1))
                self.shifted_from = None
                return f"{lead} {await self._find_start() or ''}".strip()
        if checked.reason == Refusal.TOO_FAR and not alternatives:
            # Nothing to offer that far ahead: which day sooner, not "nothing free soon".
            r = self.request
            r.day, r.days, r.start = None, None, None
            self.offers = []
            self.other_day_asked = True
            self._ask(Expecting.WHEN)
            last = self._today() + self._schedule().horizon
            return f"{lead} Which day up to {say_date(last)} would suit you?"
        return self._offer(alternatives, lead=lead)

    def _offer_message_instead(self, lead: str) -> str:
        """The booking calendar can't be reached: no other time is offered (none is known),
        only a message for someone to call back."""
        self.step = Step.OFFER_MESSAGE
        self.expecting = Expecting.YES_NO
        return f"{lead} Would you like to leave a message so someone can call you back?"

    async def _offer_in_days(self, days: tuple[date, date]) -> str:
        """Concrete free times for a vague request: one day's spread, or one per day."""
        r = self.request
        first, last = days
        try:
            found = await self.desk.free_times(
                r.service,
                first,
                last,
                window=r.window,
                weekdays=r.weekdays,
                moving=self.moving,
                one_day=r.day is not None,
                soonest=r.soonest,
                latest_first=r.latest_first,
            )
        except ProviderUnavailable:
            return self._offer_message_instead(UNAVAILABLE_WORDS)
        schedule = self._schedule()
        if not found and first == last and not schedule.is_open_on(first):
            # A closed day is said closed ("we're closed tomorrow"), then the next open day.
            closed = f"I'm sorry, we're closed {on_day(self._say_day(first))}."
            last_day = self._today() + schedule.horizon
            after = first + timedelta(days=1)
            while after <= last_day and not schedule.is_open_on(after):
                after += timedelta(days=1)
            if after > last_day:
                self.other_day_asked = True
                r.window = r.days = r.day = None
                self._ask(Expecting.WHEN)
                return f"{closed} Would another day work?"
            r.day = after
            return f"{closed} {await self._offer_in_days((after, after))}"
        if not found and r.window is not None and first == last:
            # "Thursday morning" is full: the rest of Thursday, said as such.
            part = next((name for name, w in WINDOWS.items() if w == r.window), "")
            where = f"{on_day(self._say_day(first))} {part}".strip() if part else "then"
            r.window = None
            rest = await self._offer_in_days(days)
            if self.step == Step.OFFERED:
                return f"I'm sorry, I don't have anything free {where}. {rest}"
            return rest
        if not found:
            where = on_day(self._say_day(first)) if first == last else "then"
            self.other_day_asked = True
            self.request.window = None
            self.request.days = None
            self.request.soonest = False
            self._ask(Expecting.WHEN)
            return f"I'm sorry, I don't have anything free {where}. Would another day work?"
        return self._offer(found, lead="")

    def _offer(self, alternatives: list[datetime], *, lead: str) -> str:
        # Said in time order, so "the later one" and "the first one" mean what they say.
        self.offers = sorted(a.astimezone(self._tz()) for a in alternatives)
        if not self.offers:
            self._ask(Expecting.WHEN)
            question = "I don't have anything free soon. Would you like to try another day?"
            return f"{lead} {question}".strip()
        self.step = Step.OFFERED
        self.expecting = Expecting.CHOICE
        times = say_offers(self.offers, self._today(), full=self.request.ambiguous)
        if len(self.offers) == 1:
            return f"{lead} I can do {times}. Would that work?".strip()
        return f"{lead} I can do {times}. Which would you like?".strip()

    def _offer_again_among(self, among: tuple[datetime, ...]) -> str:
        """ "Yeah that's fine" to several offers, or "the 9 o'clock one" that fits two: which?"""
        self.offers = list(among)
        self.step = Step.OFFERED
        self.expecting = Expecting.CHOICE
        times = say_offers(self.offers, self._today(), full=self.request.ambiguous)
        return self._missed(f"Which one: {times}?")

    # -- People and messages --------------------------------------------------------------

    def _to_a_person(self) -> str:
        words = self.desk.transfer()
        if words is not None:
            return words
        return self._start_message(
            lead="There's no one available to take your call right now, but I can take a message."
        )

    def _start_message(self, lead: str = "Of course.") -> str:
        self.step = Step.TAKE_MESSAGE
        self.expecting = Expecting.NOTHING
        self.message_asked = 1
        return f"{lead} What would you like me to pass on? Please include your name."

    def _take_message(self, heard: Heard, text: str) -> str:
        short = len(text.split()) <= 12
        if short and (never_mind(text) or wrong_number(text)) and not wants_message(text):
            # "Nah it's fine, I'll ring back later" is not a message.
            return "No problem. " + self.desk.goodbye()
        # A bare "yes please" / "no" / "bye" answers the question; it is not the message.
        bare = len(text.split()) <= 3 and not heard.has_booking_details
        if bare and (heard.yes is False or Intent.GOODBYE in heard.intents):
            return "No problem, no message then. " + self.desk.goodbye()
        if bare and heard.yes is True:
            # Issue #9: the same question at most twice; then a person, or a polite goodbye.
            if self.message_asked < SAME_QUESTION_MAX:
                self.message_asked += 1
                return "Go ahead: what would you like me to pass on?"
            lead = "I'm sorry, I haven't caught a message."
            if self.context.business.transfer_number:
                self.step = Step.OFFER_HELP
                self.expecting = Expecting.YES_NO
                return f"{lead} Would you like me to put you through to someone?"
            return f"{lead} Please call back whenever suits you. " + self.desk.goodbye()
        return self.desk.take_message(text, name=self.request.name)

    def _after_offering(self, heard: Heard, text: str) -> str | None:
        """The answer to "would you like to leave a message / to be put through?"."""
        offered_help = self.step == Step.OFFER_HELP
        if heard.yes is False and heard.has_booking_details:  # "no, but book me a cut Friday"
            self.step = Step.GATHER
            self._asked, self._asked_times = (), 0
            return None
        if heard.yes is True:
            return self._to_a_person() if offered_help else self._start_message()
        if heard.yes is False or never_mind(text) or Intent.GOODBYE in heard.intents:
            if never_mind(text) or Intent.GOODBYE in heard.intents or offered_help:
                return "No problem. " + self.desk.goodbye()
            self.step = Step.GATHER
            return "Okay. Is there anything else I can help with?"
        if questions_in(text):
            self.step = Step.GATHER
            return None  # answered below
        if offered_help and not heard.has_booking_details:
            # Still going nowhere: end politely rather than loop.
            return (
                "I'm sorry I couldn't help on this call. Please try again later. "
                + self.desk.goodbye()
            )
        self.step = Step.GATHER
        self._asked, self._asked_times = (), 0
        return None

    # -- Loops -------------------------------------------------------------------------------

    def _missed(self, answer: str) -> str:
        self._missed_now = True
        return answer

    def _ask_which_day(self, options: tuple[date, ...]) -> str:
        """Asks "The 8th is a Tuesday. Tuesday the 8th, or Monday the 7th?"."""
        self.day_options = options
        self.request.day, self.request.days, self.request.start = None, None, None
        said = options[0]
        told = f"The {ordinal(said.day)} is a {DAY_NAMES[said.weekday()]}."
        if len({d.weekday() for d in options}) == 1:
            told = "Sorry, which one:"
        named = [f"{DAY_NAMES[d.weekday()]} the {ordinal(d.day)}" for d in options]
        if len(named) == 1:
            return f"{told} Did you mean {named[0]}?"
        return f"{told} {named[0]}, or {named[1]}?"

    def _weekday_near_the_day(self, heard: Heard, text: str) -> Heard:
        """ "Tuesday the 8th", then "actually make that Wednesday": the 9th or the 2nd? A bare
        weekday said as a change of day is asked about when the next one is not the one in
        the week of the day asked for."""
        when, day = heard.when, self.request.day
        if day is None or when.day is None or not _BARE_WEEKDAY.search(text):
            return heard
        near = day + timedelta(days=(when.day.weekday() - day.weekday() + 3) % 7 - 3)
        if near == when.day or near <= self._today():
            return heard
        return replace(heard, when=replace(when, day=None, unclear=True, either=(near, when.day)))

    def _day_chosen(self, options: tuple[date, ...], heard: Heard, text: str) -> Heard:
        """The answer to "Tuesday the 8th, or Monday the 7th?" as that day: "Tuesday", "the
        7th", "the first one", or a yes when only one was asked about."""
        when = heard.when
        chosen = None
        index = pick_ordinal(text, len(options))
        if index is not None:
            chosen = options[index]
        elif when.day is not None or when.either:
            said = when.either[:1] or (when.day,)
            chosen = next((d for d in options if d == said[0]), None)
            chosen = chosen or next((d for d in options if d.day == said[0].day), None)
            chosen = chosen or next((d for d in options if d.weekday() == said[0].weekday()), None)
        elif heard.yes is True and len(options) == 1:
            chosen = options[0]
        if chosen is None:
            return heard
        return replace(heard, when=replace(when, day=chosen, days=None, unclear=False, either=()))

    def _not_again(self, answer: str) -> str:
        """The same question at most twice: asked again a third time for want of an answer
        we understood, a person or a message is offered instead."""
        if self.desk.ending is not None or self.step in (Step.OFFER_HELP, Step.DONE):
            self._asked, self._asked_times = (), 0
            return answer
        r = self.request
        asked = (
            self.step,
            self.expecting,
            tuple(self.offers),
            (r.service, r.day, r.time, r.window, r.days, r.start, r.name, r.phone),
            self.pending,
            tuple(b.pk for b in self.candidates),
        )
        if asked == self._asked and self._missed_now:
            self._asked_times += 1
        elif asked != self._asked:
            self._asked, self._asked_times = asked, 1
        if self._asked_times <= SAME_QUESTION_MAX:
            return answer
        self.pending = None
        self.step = Step.OFFER_HELP
        self.expecting = Expecting.YES_NO
        self._asked, self._asked_times = (), 0
        lead = "I'm sorry, I'm having trouble understanding."
        if self.context.business.transfer_number:
            return f"{lead} Would you like me to put you through to someone?"
        return f"{lead} Would you like to leave a message instead?"

    def _moves_the_one_told(self, text: str, heard: Heard) -> bool:
        """ "Can you move it to 4?" right after "your manicure is on Monday at 3 PM"."""
        told = len(self._just_told) == 1 and self.step == Step.GATHER
        return told and self._nothing_started() and not heard.when.is_empty and moves_it(text)

    def _moves_by_offset(self, heard: Heard) -> bool:
        """ "Can we make it half an hour later?" with nothing being booked or offered: later
        than the caller's booking, so a move of it by that much."""
        offset = heard.when.shift is not None or heard.when.nudge != 0
        return offset and self.step == Step.GATHER and not self.offers and self._nothing_started()

    def _nothing_started(self) -> bool:
        r = self.request
        return r.service is None and self.moving is None and r.day is None and r.time is None

    def _prompt_again(self) -> str:
        """The current question, asked plainly (after noise, a question, or a detour)."""
        r = self.request
        if self.step == Step.CONFIRM and self.pending is not None:
            cancel = "cancel them" if self.pending.together else "cancel it"
            verb = {"move": "move it", "cancel": cancel}.get(self.pending.action, "book it")
            return f"Shall I {verb}? Please say yes or no."
        if self.step == Step.CONFIRM:
            self.pending = None
            self.step = Step.GATHER
        if self.step == Step.CONFIRM_PHONE:
            return "Shall I text the confirmation to the number you're calling from? Yes or no?"
        if self.day_options and r.day is None and r.days is None:
            return self._ask_which_day(self.day_options)
        if self.step == Step.OFFERED and self.offers:
            offers = say_offers(self.offers, self._today(), full=r.ambiguous)
            return f"I can do {offers}. Which would you like?"
        if self.step == Step.WHICH_BOOKING and self.candidates:
            return self.desk.which_one(self.candidates)
        if self.step == Step.MOVE_OR_ANOTHER and self.held_asked is not None:
            return self._move_or_another_question()
        if r.service is None:
            return f"What would you like to book? For example, {self.desk.service_list()}."
        if r.start is None and r.day is None:
            return f"What day would you like to come in for your {r.service.name.lower()}?"
        if r.start is None:
            return f"What time {on_day(self._say_day(r.day))} would suit you?"
        if r.name is None:
            return "Can I take your name, please?"
        return "What's the best number to text your confirmation to? Please say the digits."

    # -- Helpers ----------------------------------------------------------------------------

    def _ask(self, what: Expecting) -> None:
        self.expecting = what
        if self.step not in (Step.OFFERED,) or what != Expecting.CHOICE:
            self.step = Step.GATHER

    def _say_day(self, day: date) -> str:
        """ "Friday", or "Friday, November 27th" when the caller's words could mean two dates."""
        return say_date(day) if self.request.ambiguous else say_day(day, self._today())

    def _resolve(self, day: date, heard_time: time, explicit: bool) -> datetime:
        """'At 3' means 3 PM at a salon: the reading that falls inside opening hours wins."""
        ranges = self._schedule().ranges_on(day)
        candidates = plausible_times(heard_time, explicit)
        for candidate in candidates:
            if any(opens <= candidate < closes for opens, closes in ranges):
                return datetime.combine(day, candidate, tzinfo=self._tz())
        return datetime.combine(day, candidates[0], tzinfo=self._tz())

    def _schedule(self):
        assert self.desk.schedule is not None, "loaded at the start of each turn"
        return self.desk.schedule

    def _tz(self):
        return self.context.business.tz

    def _today(self) -> date:
        return self.desk.today()
