"""A business's schedule (with its services' own rules) and active services, kept per
process between calls.

Every call needs them (the webhook's speech hints, the receptionist's answers, each
availability check, the booking's own check) and they change only when staff edit them.
Each process keeps the last copy it loaded per business, stamped with what it was built
from: the business's `schedule_version`, the business's local date (special days from
yesterday on are kept) and the business fields the schedule reads.

Saving or deleting opening hours, special days, services or their own hours (`save()` /
`delete()`, which is what admin does) gives the business a new `schedule_version` and drops
this process's copy (bookings.signals); other processes notice the new version the next time
they load the business row, which every call does once, at its start. Bulk writes
(`QuerySet.update`, `bulk_create`) send no signals: code that changes these tables in bulk
calls `bookings.signals.changed()`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

# business id -> (stamp, value). Replaced whole, never mutated: safe to read from any thread.
_copies: dict[int, tuple[Hashable, object]] = {}


def cached(business_id: int, stamp: Hashable, load: Callable[[], T]) -> T:
    """This process's copy for `business_id` if it was built from `stamp`; else `load()`."""
    copy = _copies.get(business_id)
    if copy is not None and copy[0] == stamp:
        return copy[1]  # type: ignore[return-value]
    value = load()
    _copies[business_id] = (stamp, value)
    return value


def forget(business_id: int) -> None:
    """Drop this process's copy (the next use loads it again)."""
    _copies.pop(business_id, None)
