"""Asking about one's own bookings, and cancelling all of them, as callers say it."""

from __future__ import annotations

import pytest

from calls.understanding.requests import Question, cancels_all, questions_in


@pytest.mark.parametrize(
    "text",
    [
        "I booked something for Monday, what time was it again?",
        "when's my appointment?",
        "do I have anything booked next week?",
        "have I got anything on Saturday?",
        "what have I got booked?",
        "am I booked in for anything on Friday?",
        "I made a booking for Tuesday but when was it?",
        "when am I in next?",
    ],
)
def test_asking_about_my_bookings(text):
    assert Question.MY_BOOKINGS in questions_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "do you have anything on Saturday?",
        "I'd like to book a haircut, when are you open?",
        "am I in the right place for the salon?",
        "do I have to book in advance?",
        "what time do you close?",
    ],
)
def test_not_about_my_bookings(text):
    assert Question.MY_BOOKINGS not in questions_in(text)


@pytest.mark.parametrize(
    ("text", "everything"),
    [
        ("cancel both my appointments", True),
        ("can you cancel all of them", True),
        ("cancel everything I have", True),
        ("cancel them all please", True),
        ("cancel all my bookings", True),
        ("all three please", True),
        ("I need to cancel my appointment", False),
        ("cancel my Monday one", False),
        ("cancel the haircut, that's all", False),
    ],
)
def test_cancelling_all_of_them(text, everything):
    assert cancels_all(text) is everything
