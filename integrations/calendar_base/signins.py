"""Sign-ins in progress, kept server-side in the staff member's session under their OAuth
`state`: which business, which staff member, when, and the secrets the callback needs (a
PKCE verifier, msal's flow). The callback takes its entry out before anything else (one use),
so a replayed, foreign or forged callback finds nothing and stores nothing."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from bookings.models import Business

# Long enough to read a consent screen, short enough that a stale tab is refused.
PENDING_TTL = timedelta(minutes=15)
# A few tabs at once are fine; an endless stream of abandoned starts is not kept forever.
MAX_PENDING = 5


class StateRejected(Exception):
    """The callback's state is not one this staff member started (or it was used already)."""


def new_state(business: Business) -> str:
    # The entry, not the callback, says which business is connected. The business id in the
    # state only makes a state that was edited to name another business an unknown one.
    return f"{business.pk}.{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class PendingSignIns:
    session_key: str

    def _entries(self, session: SessionBase) -> dict[str, dict]:
        return dict(session.get(self.session_key, {}))

    @staticmethod
    def _fresh(entries: dict[str, dict], now: float) -> dict[str, dict]:
        ttl = PENDING_TTL.total_seconds()
        return {state: e for state, e in entries.items() if now - e["started_at"] <= ttl}

    def remember(
        self, session: SessionBase, *, state: str, business: Business, user, **extra: Any
    ) -> None:
        now = time.time()
        entries = self._fresh(self._entries(session), now)
        entries[state] = {
            "business_id": business.pk,
            "user_id": user.pk,
            **extra,
            "started_at": now,
        }
        # Keep only the newest few: older tabs then get "start again", which is harmless.
        newest = sorted(entries.items(), key=lambda item: item[1]["started_at"])[-MAX_PENDING:]
        session[self.session_key] = dict(newest)

    def take(self, session: SessionBase, *, state: str, user) -> dict[str, Any]:
        """The entry this callback completes, removed from the session (one use).

        Raises StateRejected for a missing, unknown, replayed, expired, foreign or tampered
        state."""
        entries = self._entries(session)
        entry = entries.pop(state, None) if state else None
        now = time.time()
        # Write back even on failure: the used entry is gone and expired ones go with it.
        session[self.session_key] = self._fresh(entries, now)
        if entry is None:
            raise StateRejected("no sign-in was started with this state in this session")
        if entry["user_id"] != user.pk:
            raise StateRejected("the sign-in was started by another staff member")
        if now - entry["started_at"] > PENDING_TTL.total_seconds():
            raise StateRejected("the sign-in took too long")
        return entry
