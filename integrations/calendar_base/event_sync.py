"""Keeping a booking's event in an outside calendar in step with the booking, from the outbox.

One EventSyncer per integration. Its two operations run inside durable outbox tasks
(bookings.tasks: provider.after_booking and provider.after_cancel), so they may run again
after a crash or an ambiguous failure: they are idempotent, as long as the client's insert is
(Google: an event id derived from the booking; Outlook: Graph's transactionId).

Raising means "try again later" (with backoff, or after the service's Retry-After);
PermanentTaskError means retrying cannot help. What happened is written on the booking's
sync row (status / error), where staff see it and can retry from admin; a sync that fails for
good tells the staff (bookings.notifications).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction
from django.db.models import F

from bookings.models import Booking, OutboxTask
from bookings.notifications import notify_sync_failed
from bookings.outbox import PermanentTaskError, RetryAfter
from bookings.tasks import PROVIDER_AFTER_BOOKING, provider_follow_ups
from integrations.calendar_base import errors
from integrations.calendar_base.connections import ConnectionStore, is_disconnected
from integrations.calendar_base.errors import CalendarError
from integrations.calendar_base.models import CalendarConnection, EventSync

logger = logging.getLogger(__name__)

SyncStatus = EventSync.Status


class CalendarNotReady(Exception):
    """The calendar can't be written now (not connected, needs reconnect): retried with
    backoff, and reconnecting re-queues the waiting events at once."""


class EventWriter(Protocol):
    def insert_event(self, booking: Booking) -> str: ...
    def update_event(self, calendar_id: str, event_id: str, booking: Booking) -> None: ...
    def delete_event(self, calendar_id: str, event_id: str) -> None: ...


@dataclass(frozen=True)
class EventSyncer:
    store: ConnectionStore
    client: Callable[[CalendarConnection], EventWriter]
    # The event id a booking's event has when none was recorded ("" when ids are the
    # service's own and nothing can be derived).
    derived_event_id: Callable[[Booking], str] = lambda booking: ""
    # Where the account's console lets the owner remove an event by hand.
    manual_fix: str = "remove this booking's event from the calendar by hand"

    @property
    def calendar(self) -> str:
        return self.store.calendar

    def create_event(self, *, booking_id: int, enabled: bool = True) -> None:
        booking = _booking(booking_id)
        if booking.status == Booking.Status.CANCELLED:
            return
        sync = self._sync(booking)
        if sync.status == SyncStatus.SYNCED and sync.event_id:
            return  # done by an earlier attempt
        if not enabled:
            self._save(sync, status=SyncStatus.NOT_REQUIRED, error="")
            return
        connection = self._usable_connection(booking, sync)
        client = self.client(connection)
        try:
            if sync.event_id:
                # Written before, then changed (staff moved it in admin): rewrite it in place.
                client.update_event(sync.calendar_id, sync.event_id, booking)
                calendar_id, event_id = sync.calendar_id, sync.event_id
            else:
                calendar_id, event_id = connection.write_calendar_id, client.insert_event(booking)
        except CalendarError as exc:
            self._failed(booking, sync, connection, exc)
        sync.calendar_id = calendar_id
        sync.event_id = event_id
        self._save(sync, status=SyncStatus.SYNCED, error="", extra=["calendar_id", "event_id"])
        logger.info("%s event %s created for booking %s.", self.calendar, event_id, booking.pk)
        # Cancelled while we were writing the event: the cancellation's delete may have run
        # before the event existed, so remove it here too (a delete is idempotent).
        booking.refresh_from_db(fields=["status"])
        if booking.status == Booking.Status.CANCELLED:
            self.delete_event(booking_id=booking.pk)

    def delete_event(self, *, booking_id: int) -> None:
        booking = _booking(booking_id)
        sync = self.store.sync_model.objects.filter(booking=booking).first()
        if sync is None or (sync.status == SyncStatus.NOT_REQUIRED and not sync.event_id):
            return  # no event was ever wanted, or it is already gone
        connection = self.store.connection_for(booking.business)
        event_id = sync.event_id or self.derived_event_id(booking)
        if is_disconnected(connection) and not sync.event_id:
            # Cancelled before its event was ever written (the calendar went away first).
            self._save(sync, status=SyncStatus.NOT_REQUIRED, error="")
            return
        if is_disconnected(connection):
            message = f"{self.calendar} is disconnected: {self.manual_fix}, or reconnect and retry."
            self._left_in_calendar(booking, sync, message)
            raise PermanentTaskError(message)
        connection = self._usable_connection(booking, sync)
        if event_id:
            calendar_id = sync.calendar_id or connection.write_calendar_id
            try:
                self.client(connection).delete_event(calendar_id, event_id)
            except CalendarError as exc:
                self._failed(booking, sync, connection, exc, keep_status=True)
        sync.event_id = ""
        self._save(sync, status=SyncStatus.NOT_REQUIRED, error="", extra=["event_id"])
        logger.info("%s event of cancelled booking %s deleted.", self.calendar, booking.pk)

    def _sync(self, booking: Booking) -> EventSync:
        """The booking's sync row (made pending when it was booked; made here if missing)."""
        sync, _ = self.store.sync_model.objects.get_or_create(booking=booking)
        return sync

    def _usable_connection(self, booking: Booking, sync: EventSync) -> Any:
        connection = self.store.connection_for(booking.business)
        if connection is None or not connection.is_usable:
            needs_reconnect = connection is not None and connection.status == "needs_reconnect"
            state = "needs reconnecting" if needs_reconnect else "is not connected"
            message = f"{self.calendar} {state}; waiting for it to be connected."
            _note(sync, message)
            self._give_up_if_last_attempt(booking, sync, message)
            raise CalendarNotReady(message)
        return connection

    def _failed(
        self,
        booking: Booking,
        sync: EventSync,
        connection: CalendarConnection,
        exc: CalendarError,
        *,
        keep_status: bool = False,
    ) -> None:
        """Record a failed attempt where staff see it, then raise what the outbox needs."""
        message = str(exc)
        if exc.kind != errors.TOKEN_REVOKED:  # the client records a dead token itself
            self.store.record_problem(connection=connection, kind=exc.kind, detail=message)
        if exc.permanent and exc.kind != errors.TOKEN_REVOKED:
            if not keep_status:
                self._save(sync, status=SyncStatus.FAILED, error=message)
            else:
                self._left_in_calendar(booking, sync, message)
            raise PermanentTaskError(message) from exc
        # Retryable, or a dead token that a reconnect will fix: try again later.
        _note(sync, message)
        self._give_up_if_last_attempt(booking, sync, message)
        if exc.retry_after:
            raise RetryAfter(exc.retry_after, message) from exc
        raise exc

    def _give_up_if_last_attempt(self, booking: Booking, sync: EventSync, message: str) -> None:
        """The outbox gives up after its last attempt: a booking must then say 'failed', and
        a cancelled one whose event is still there must be reported to staff."""
        if booking.status == Booking.Status.CANCELLED:
            if _on_last_attempt(booking):
                self._left_in_calendar(booking, sync, message)
            return
        task = provider_follow_ups([booking.pk]).filter(kind=PROVIDER_AFTER_BOOKING).first()
        if task is not None and task.attempts >= task.max_attempts:
            self._save(sync, status=SyncStatus.FAILED, error=message)

    def _left_in_calendar(self, booking: Booking, sync: EventSync, message: str) -> None:
        """A cancelled booking's event could not be deleted, for good: staff must know the
        time still looks taken in the calendar. The row keeps its event id (a retry can
        still delete it)."""
        with transaction.atomic():
            _note(sync, message)
            notify_sync_failed(
                booking=booking, calendar=self.calendar, error=message, manual_fix=self.manual_fix
            )

    def _save(
        self, sync: EventSync, *, status: str, error: str, extra: list[str] | None = None
    ) -> None:
        sync.status = status
        sync.error = error[:2000]
        with transaction.atomic():
            sync.save(update_fields=["status", "error", "updated_at"] + (extra or []))
            if status == SyncStatus.FAILED:
                # In the same transaction: a failure on record always has its notice queued.
                notify_sync_failed(booking=sync.booking, calendar=self.calendar, error=error)


def _on_last_attempt(booking: Booking) -> bool:
    """Whether the follow-up task running for this booking now is on its last attempt."""
    return (
        provider_follow_ups([booking.pk])
        .filter(status=OutboxTask.Status.RUNNING, attempts__gte=F("max_attempts"))
        .exists()
    )


def _booking(booking_id: int) -> Booking:
    booking = Booking.objects.select_related("business", "service").filter(pk=booking_id).first()
    if booking is None:
        raise PermanentTaskError(f"Booking {booking_id} no longer exists.")
    return booking


def _note(sync: EventSync, message: str) -> None:
    sync.error = message[:2000]
    sync.save(update_fields=["error", "updated_at"])
