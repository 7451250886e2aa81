"""One connection's access token refreshed without holding a lock or a transaction across the
call to the token endpoint (which can take a timeout and retries: on SQLite, whose
transactions begin IMMEDIATE here, a transaction would write-lock the whole database, and
every live call's writes would queue behind it; on Postgres it would hold a pooled
connection and an open transaction across HTTP).

Compare-and-swap instead, with the row's `updated_at` as its version (the tokens are
Fernet-encrypted, so a query cannot compare them; every write to the tokens sets
`updated_at`):

- Read the row. A valid token that another process refreshed meanwhile is used as it is.
- Otherwise ask the token endpoint with the row's refresh token, outside any transaction.
- Save with `filter(pk=..., updated_at=seen).update(...)`. No row updated: the row moved;
  read it again. Still on the refresh token we sent (a problem recorded, say): save again
  on the new version. Another refresh's or a reconnect's tokens: use those, ours are dropped.

Within one process, threads refreshing the same connection take turns (a threading lock per
connection, which holds up no database work): the ones that waited find the new token in
the row. Two processes may both ask the token endpoint. What holds: no process loses a
token (each gets a valid one: its own or the stored winner's), the stored tokens are ones
the vendor issued last or still honours, and a refresh token refused because a racing
refresh spent it first (single-use rotation: Calendly) is not recorded as a dead grant: the
refusal is believed only once the row has stayed on the refresh token we sent for
DEAD_GRANT_SETTLE seconds, long enough for the racing refresh's save to land. (A vendor
that revokes a whole grant when a spent refresh token is offered again would still punish
such a race; none of ours does.)

Each integration's client says how to ask its token endpoint (`ask`) and what counts as
valid; the row is read, the tokens saved and a dead grant recorded here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from integrations.calendar_base import errors
from integrations.calendar_base.connections import ConnectionStore
from integrations.calendar_base.models import CalendarConnection

logger = logging.getLogger(__name__)

TOKEN_FIELDS = ("access_token", "access_token_expires_at", "refresh_token", "status", "updated_at")

# How long a refused refresh token must stay in the row before the grant is taken for dead
# (seconds), and how often the row is read meanwhile.
DEAD_GRANT_SETTLE = 3.0
SETTLE_POLL = 0.1
# Saves retried when unrelated writes (a problem recorded) keep moving the row.
SAVE_ATTEMPTS = 5


# One refresh per connection at a time in this process: {(model label, pk): lock}.
_refreshing: dict[tuple[str, int], threading.Lock] = {}
_refreshing_guard = threading.Lock()


def _turn(connection: CalendarConnection) -> threading.Lock:
    key = (connection._meta.label, connection.pk)
    with _refreshing_guard:
        return _refreshing.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class NewTokens:
    """What the token endpoint answered; `refresh_token` when it rotated one."""

    access_token: str
    expires_at: datetime | None
    refresh_token: str | None = field(default=None, repr=False)


class GrantIsDead(Exception):
    """Raised by `ask` when the token endpoint refuses the refresh token itself (invalid_grant):
    `detail` is what staff read, `error` what the caller gets once the connection is marked
    for reconnecting."""

    def __init__(self, detail: str, error: Exception) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error


def fresh_access_token(
    connection: CalendarConnection,
    *,
    store: ConnectionStore,
    service: str,
    stale: str | None,
    valid: Callable[[str | None, datetime | None], bool],
    ask: Callable[[str], NewTokens],
    not_connected: Callable[[], Exception],
) -> str:
    """A usable access token to replace `stale`, saved on `connection` (and its row): the one
    another process refreshed meanwhile if the row has it, else one asked with the row's
    refresh token. `ask` raises the integration's error, or GrantIsDead; `service` names
    whose token it is in the log ("Google")."""
    with _turn(connection):
        return _refresh(connection, store, service, stale, valid, ask, not_connected)


def _refresh(
    connection: CalendarConnection,
    store: ConnectionStore,
    service: str,
    stale: str | None,
    valid: Callable[[str | None, datetime | None], bool],
    ask: Callable[[str], NewTokens],
    not_connected: Callable[[], Exception],
) -> str:
    model = type(connection)
    current = model.objects.get(pk=connection.pk)
    _adopt(connection, current)
    if not current.is_usable:
        raise not_connected()
    if _replaced(current, stale, valid):
        return current.access_token  # refreshed elsewhere
    sent = current.refresh_token
    try:
        tokens = ask(sent)  # no transaction, no lock: this may take seconds
    except GrantIsDead as dead:
        return _after_refusal(connection, store, sent, valid, dead)
    for _ in range(SAVE_ATTEMPTS):
        if _save_if_unchanged(current, store, tokens):
            _adopt(connection, current)
            logger.info("Refreshed the %s access token for %s.", service, connection.business.slug)
            return tokens.access_token
        current = model.objects.get(pk=connection.pk)
        _adopt(connection, current)
        if (
            current.refresh_token != sent
            or not current.is_usable
            or _replaced(current, stale, valid)
        ):
            break  # another refresh, a reconnect or a disconnect: the row's word stands
    if current.is_usable and _replaced(current, stale, valid):
        return current.access_token  # a racing refresh saved first; ours is dropped
    if not current.is_usable:
        raise not_connected()
    # Unrelated writes kept moving the row: our token is good for this call.
    connection.access_token = tokens.access_token
    connection.access_token_expires_at = tokens.expires_at
    return tokens.access_token


def _replaced(
    row: CalendarConnection,
    stale: str | None,
    valid: Callable[[str | None, datetime | None], bool],
) -> bool:
    """The row holds a valid access token other than the one being replaced."""
    return row.access_token != stale and valid(row.access_token, row.access_token_expires_at)


def _save_if_unchanged(
    current: CalendarConnection, store: ConnectionStore, tokens: NewTokens
) -> bool:
    """The new tokens into `current`'s row if the row is still the version `current` read."""
    now = timezone.now()
    values = {
        "access_token": tokens.access_token,
        "access_token_expires_at": tokens.expires_at,
        "updated_at": now,
    }
    if tokens.refresh_token and tokens.refresh_token != current.refresh_token:
        values["refresh_token"] = tokens.refresh_token
    saved = store.model.objects.filter(pk=current.pk, updated_at=current.updated_at).update(
        **values
    )
    if saved:
        for name, value in values.items():
            setattr(current, name, value)
    return bool(saved)


def _after_refusal(
    connection: CalendarConnection,
    store: ConnectionStore,
    sent: str,
    valid: Callable[[str | None, datetime | None], bool],
    dead: GrantIsDead,
) -> str:
    """The token endpoint refused `sent`. A refresh racing ours may have spent a single-use
    refresh token first and not saved yet: its tokens, once in the row, are good and the
    grant is not dead. Only a row that stays on `sent` means a dead grant."""
    model = type(connection)
    give_up = time.monotonic() + DEAD_GRANT_SETTLE
    while True:
        winner = model.objects.get(pk=connection.pk)
        _adopt(connection, winner)
        if winner.refresh_token != sent:
            if winner.is_usable and valid(winner.access_token, winner.access_token_expires_at):
                return winner.access_token
            raise dead.error  # reconnected or disconnected meanwhile: nothing to record
        if not winner.is_usable or time.monotonic() >= give_up:
            break
        time.sleep(SETTLE_POLL)
    store.record_problem(
        connection=connection, kind=errors.TOKEN_REVOKED, detail=dead.detail, needs_reconnect=True
    )
    raise dead.error


def _adopt(connection: CalendarConnection, current: CalendarConnection) -> None:
    for name in TOKEN_FIELDS:
        setattr(connection, name, getattr(current, name))
