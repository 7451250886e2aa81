"""Server-side OAuth `state` for connecting a calendar from admin, shared by the integrations.

Each authorization is remembered in the staff member's session under its state: the business,
the staff member and the PKCE code verifier. The callback takes that entry out before anything
else (one use), so a replayed, foreign, expired or forged callback finds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.sessions.backends.base import SessionBase

# Long enough to read a consent screen, short enough that a stale tab is refused.
PENDING_TTL = timedelta(minutes=15)
# A few tabs at once are fine; an endless stream of abandoned starts is not kept forever.
MAX_PENDING = 5


class StateRejected(Exception):
    """The callback's state is not one this staff member started (or it was used already)."""


@dataclass(frozen=True)
class PendingAuthorization:
    state: str
    business_id: int
    user_id: int
    code_verifier: str = field(repr=False)
    started_at: float


def new_code_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43-128 characters of the unreserved set)."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state(business_id: int) -> str:
    # The entry, not the callback, says which business is connected. The business id in the
    # state only makes a state that was edited to name another business an unknown one.
    return f"{business_id}.{secrets.token_urlsafe(32)}"


def _fresh(entries: dict[str, dict], now: float) -> dict[str, dict]:
    ttl = PENDING_TTL.total_seconds()
    return {state: e for state, e in entries.items() if now - e["started_at"] <= ttl}


def remember(
    session: SessionBase, key: str, *, state: str, business_id: int, user_id: int, verifier: str
) -> None:
    now = time.time()
    entries = _fresh(dict(session.get(key, {})), now)
    entries[state] = {
        "business_id": business_id,
        "user_id": user_id,
        "code_verifier": verifier,
        "started_at": now,
    }
    # Keep only the newest few: older tabs then get "start again", which is harmless.
    newest = sorted(entries.items(), key=lambda item: item[1]["started_at"])[-MAX_PENDING:]
    session[key] = dict(newest)


def take(session: SessionBase, key: str, *, state: str, user) -> PendingAuthorization:
    """The authorization this callback completes, removed from the session (one use).

    Raises StateRejected for a missing, unknown, replayed, expired, foreign or tampered state."""
    entries = dict(session.get(key, {}))
    entry = entries.pop(state, None) if state else None
    now = time.time()
    # Write back even on failure: the used entry is gone and expired ones go with it.
    session[key] = _fresh(entries, now)
    if entry is None:
        raise StateRejected("no sign-in was started with this state in this session")
    if entry["user_id"] != user.pk:
        raise StateRejected("the sign-in was started by another staff member")
    if now - entry["started_at"] > PENDING_TTL.total_seconds():
        raise StateRejected("the sign-in took too long")
    return PendingAuthorization(state=state, **entry)
