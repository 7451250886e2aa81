"""Keeping a booking's Google Calendar event in step with the booking, from the outbox.

Both functions run inside durable outbox tasks (bookings.tasks: provider.after_booking and
provider.after_cancel), so they may run again after a crash or an ambiguous failure: they
are idempotent. The event id is derived from the booking (client.event_id_for), so a
retried insert cannot create a second event and a delete never needs to have seen the
insert's answer.

Raising means "try again later" (with backoff, or after Google's Retry-After);
PermanentTaskError means retrying cannot help. What happened is written on the booking's
CalendarEventSync (status / error), where staff see it and can retry from admin.
"""

from __future__ import annotations

import logging

from django.db import transaction

from bookings.models import Booking
from bookings.notifications import notify_sync_failed
from bookings.outbox import PermanentTaskError, RetryAfter
from bookings.tasks import PROVIDER_AFTER_BOOKING, provider_follow_ups
from integrations.google_calendar import connections
from integrations.google_calendar.client import CalendarClient, GoogleCalendarError, event_id_for
from integrations.google_calendar.models import CalendarEventSync, GoogleCalendarConnection

logger = logging.getLogger(__name__)

SyncStatus = CalendarEventSync.Status


class CalendarNotReady(Exception):
    """The calendar can't be written now (not connected, needs reconnect): retried with
    backoff, and reconnecting re-queues the waiting events at once."""


def create_event(*, booking_id: int, enabled: bool = True) -> None:
    booking = _booking(booking_id)
    if booking.status == Booking.Status.CANCELLED:
        return
    sync = _sync(booking)
    if sync.status == SyncStatus.SYNCED and sync.event_id:
        return  # done by an earlier attempt
    if not enabled:
        _save(sync, status=SyncStatus.NOT_REQUIRED, error="")
        return
    connection = _usable_connection(booking, sync)
    client = CalendarClient(connection)
    try:
        if sync.event_id:
            # Written before, then changed (staff moved it in admin): rewrite it in place.
            client.update_event(sync.calendar_id, sync.event_id, booking)
            calendar_id, event_id = sync.calendar_id, sync.event_id
        else:
            calendar_id, event_id = connection.write_calendar_id, client.insert_event(booking)
    except GoogleCalendarError as exc:
        _failed(booking, sync, connection, exc)
    sync.calendar_id = calendar_id
    sync.event_id = event_id
    _save(sync, status=SyncStatus.SYNCED, error="", extra=["calendar_id", "event_id"])
    logger.info("Calendar event %s created for booking %s.", event_id, booking.pk)
    # Cancelled while we were writing the event: the cancellation's delete may have run
    # before the event existed, so remove it here too (a delete is idempotent).
    booking.refresh_from_db(fields=["status"])
    if booking.status == Booking.Status.CANCELLED:
        delete_event(booking_id=booking.pk)


def delete_event(*, booking_id: int) -> None:
    booking = _booking(booking_id)
    sync = CalendarEventSync.objects.filter(booking=booking).first()
    if sync is None or (sync.status == SyncStatus.NOT_REQUIRED and not sync.event_id):
        return  # no event was ever wanted, or it is already gone
    connection = connections.connection_for(booking.business)
    disconnected = (
        connection is None or connection.status == GoogleCalendarConnection.Status.DISCONNECTED
    )
    if disconnected and not sync.event_id:
        # Cancelled before its event was ever written (the calendar went away first).
        _save(sync, status=SyncStatus.NOT_REQUIRED, error="")
        return
    if disconnected:
        raise PermanentTaskError(
            "Google Calendar is disconnected: remove this booking's event from the calendar "
            "by hand, or reconnect and retry."
        )
    connection = _usable_connection(booking, sync)
    calendar_id = sync.calendar_id or connection.write_calendar_id
    try:
        CalendarClient(connection).delete_event(calendar_id, sync.event_id or event_id_for(booking))
    except GoogleCalendarError as exc:
        _failed(booking, sync, connection, exc, keep_status=True)
    sync.event_id = ""
    _save(sync, status=SyncStatus.NOT_REQUIRED, error="", extra=["event_id"])
    logger.info("Calendar event of cancelled booking %s deleted.", booking.pk)


def _booking(booking_id: int) -> Booking:
    booking = Booking.objects.select_related("business", "service").filter(pk=booking_id).first()
    if booking is None:
        raise PermanentTaskError(f"Booking {booking_id} no longer exists.")
    return booking


def _sync(booking: Booking) -> CalendarEventSync:
    """The booking's sync row (made pending when it was booked; made here if missing)."""
    sync, _ = CalendarEventSync.objects.get_or_create(booking=booking)
    return sync


def _usable_connection(booking: Booking, sync: CalendarEventSync) -> GoogleCalendarConnection:
    connection = connections.connection_for(booking.business)
    if connection is None or not connection.is_usable:
        state = connection.get_status_display().lower() if connection else "not connected"
        message = f"Google Calendar is {state}; waiting for it to be connected."
        _note(sync, message)
        _give_up_if_last_attempt(booking, sync, message)
        raise CalendarNotReady(message)
    return connection


def _failed(
    booking: Booking,
    sync: CalendarEventSync,
    connection: GoogleCalendarConnection,
    exc: GoogleCalendarError,
    *,
    keep_status: bool = False,
) -> None:
    """Record a failed attempt where staff see it, then raise what the outbox needs."""
    message = str(exc)
    if exc.kind != connections.TOKEN_REVOKED:  # the client records a dead token itself
        connections.record_problem(connection=connection, kind=exc.kind, detail=message)
    if exc.permanent and exc.kind != connections.TOKEN_REVOKED:
        if not keep_status:
            _save(sync, status=SyncStatus.FAILED, error=message)
        else:
            _note(sync, message)
        raise PermanentTaskError(message) from exc
    # Retryable, or a dead token that a reconnect will fix: try again later.
    _note(sync, message)
    if not keep_status:
        _give_up_if_last_attempt(booking, sync, message)
    if exc.retry_after:
        raise RetryAfter(exc.retry_after, message) from exc
    raise exc


def _give_up_if_last_attempt(booking: Booking, sync: CalendarEventSync, message: str) -> None:
    """The outbox gives up after its last attempt: the booking must then say 'failed'."""
    if booking.status == Booking.Status.CANCELLED:
        return
    task = provider_follow_ups([booking.pk]).filter(kind=PROVIDER_AFTER_BOOKING).first()
    if task is not None and task.attempts >= task.max_attempts:
        _save(sync, status=SyncStatus.FAILED, error=message)


def _note(sync: CalendarEventSync, message: str) -> None:
    sync.error = message[:2000]
    sync.save(update_fields=["error", "updated_at"])


def _save(
    sync: CalendarEventSync, *, status: str, error: str, extra: list[str] | None = None
) -> None:
    sync.status = status
    sync.error = error[:2000]
    with transaction.atomic():
        sync.save(update_fields=["status", "error", "updated_at"] + (extra or []))
        if status == SyncStatus.FAILED:
            # In the same transaction: a failure on record always has its notice queued.
            notify_sync_failed(booking=sync.booking, error=error)
