"""The one rule that settles how a call ended, in both of its forms: on a row read under a
lock (Twilio's session-ended request) and inside an UPDATE (the conversation's end)."""

from __future__ import annotations

import pytest
from django.db.models import F

from bookings.tests.factories import BusinessFactory
from calls.models import Call
from calls.services import settled_outcome

pytestmark = pytest.mark.django_db

Out = Call.Outcome
CASES = [
    # current row, what the conversation achieved, transferred, failed -> settled
    (Out.IN_PROGRESS, Out.BOOKED, False, False, Out.BOOKED),
    (Out.TRANSFERRED, Out.MESSAGE_TAKEN, False, False, Out.MESSAGE_TAKEN),  # the conversation wins
    (Out.IN_PROGRESS, Out.IN_PROGRESS, False, False, Out.ABANDONED),
    (Out.ABANDONED, Out.IN_PROGRESS, True, False, Out.TRANSFERRED),
    (Out.IN_PROGRESS, Out.IN_PROGRESS, False, True, Out.FAILED),
    (Out.IN_PROGRESS, Out.IN_PROGRESS, True, True, Out.TRANSFERRED),
    (Out.BOOKED, Out.IN_PROGRESS, False, True, Out.BOOKED),  # settled before: kept
    (Out.TRANSFERRED, Out.IN_PROGRESS, False, False, Out.TRANSFERRED),
    # Questions answered, a read-back declined: honest endings, not "abandoned"...
    (Out.IN_PROGRESS, Out.ANSWERED, False, False, Out.ANSWERED),
    (Out.ABANDONED, Out.DECLINED, False, False, Out.DECLINED),
    (Out.ANSWERED, Out.IN_PROGRESS, False, False, Out.ANSWERED),
    (Out.DECLINED, Out.IN_PROGRESS, False, False, Out.DECLINED),
    (Out.ANSWERED, Out.BOOKED, False, False, Out.BOOKED),
    # ...that give way to a caller put through or a failed session, whichever report is first.
    (Out.ANSWERED, Out.IN_PROGRESS, True, False, Out.TRANSFERRED),
    (Out.DECLINED, Out.IN_PROGRESS, False, True, Out.FAILED),
    (Out.TRANSFERRED, Out.ANSWERED, False, False, Out.TRANSFERRED),
    (Out.FAILED, Out.DECLINED, False, False, Out.FAILED),
]


@pytest.mark.parametrize(("current", "achieved", "transferred", "failed", "settled"), CASES)
def test_one_rule_on_a_locked_row_and_in_an_update(current, achieved, transferred, failed, settled):
    assert (
        settled_outcome(current, achieved=achieved, transferred=transferred, failed=failed)
        == settled
    )

    call = Call.objects.create(business=BusinessFactory(), sid="CAoutcome", outcome=current)
    Call.objects.filter(pk=call.pk).update(
        outcome=settled_outcome(
            F("outcome"), achieved=achieved, transferred=transferred, failed=failed
        )
    )
    call.refresh_from_db()
    assert call.outcome == settled
