"""One access-token refresh per connection at a time, across every process: the connection's
row is locked (select_for_update) while its token is refreshed, so a second Daphne process or
outbox worker that wants a token for the same connection waits, then finds the new one in the
row instead of spending the refresh token again. On SQLite, whose transactions begin
IMMEDIATE here (settings), the whole database is the lock.

Each integration's client says how to ask its token endpoint (`ask`) and what counts as valid;
the row is read, the tokens saved and a dead grant recorded here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from integrations.calendar_base import errors
from integrations.calendar_base.connections import ConnectionStore
from integrations.calendar_base.models import CalendarConnection

logger = logging.getLogger(__name__)

TOKEN_FIELDS = ("access_token", "access_token_expires_at", "refresh_token", "status")


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
    model = type(connection)
    with transaction.atomic():
        current = model.objects.select_for_update().get(pk=connection.pk)
        _adopt(connection, current)
        if not current.is_usable:
            raise not_connected()
        if current.access_token != stale and valid(
            current.access_token, current.access_token_expires_at
        ):
            return current.access_token  # refreshed elsewhere while we waited
        sent = current.refresh_token
        try:
            tokens = ask(sent)
        except GrantIsDead as exc:
            dead = exc
        else:
            store.save_access_token(
                connection=current,
                access_token=tokens.access_token,
                expires_at=tokens.expires_at,
                refresh_token=tokens.refresh_token,
            )
            _adopt(connection, current)
            logger.info("Refreshed the %s access token for %s.", service, connection.business.slug)
            return tokens.access_token
    # A refresh that did not wait for our lock (another database, a test) may have spent a
    # single-use refresh token first: its tokens in the row are good, the grant is not dead.
    winner = model.objects.get(pk=connection.pk)
    _adopt(connection, winner)
    if (
        winner.is_usable
        and winner.refresh_token != sent
        and valid(winner.access_token, winner.access_token_expires_at)
    ):
        return winner.access_token
    # Recorded outside the transaction, which the raise would roll back.
    store.record_problem(
        connection=connection, kind=errors.TOKEN_REVOKED, detail=dead.detail, needs_reconnect=True
    )
    raise dead.error


def _adopt(connection: CalendarConnection, current: CalendarConnection) -> None:
    for name in TOKEN_FIELDS:
        setattr(connection, name, getattr(current, name))
