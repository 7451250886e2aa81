"""What can go wrong talking to an outside calendar, in one vocabulary for every provider."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime

# Problem kinds (ConnectionStore.labels words them for staff, per provider).
NOT_CONNECTED = "not_connected"
API_DOWN = "api_down"
TOKEN_REVOKED = "token_revoked"
RATE_LIMITED = "rate_limited"
CALENDAR_ERROR = "calendar_error"
REVOKE_FAILED = "revoke_failed"


class CalendarError(Exception):
    """Talking to the calendar failed. `kind` is one of the problem kinds above; `permanent`
    means retrying the same request cannot help; `retry_after` (seconds) is the service's
    hint or, for rate limits, ours; `status` is the HTTP status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        permanent: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds from now."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_seconds(attempt: int, retry_after: float | None, base: float) -> float:
    """Retry n (from 0) waits what the service said, else a random time up to base * 2**n
    ("full jitter")."""
    if retry_after is not None:
        return retry_after
    return random.uniform(0, base * 2**attempt)
