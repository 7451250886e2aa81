"""Keeping a booking's Google Calendar event in step with the booking, from the outbox.

Both functions run inside durable outbox tasks (bookings.tasks: provider.after_booking and
provider.after_cancel), so they may run again after a crash or an ambiguous failure: they
are idempotent. The event id is derived from the booking (client.event_id_for), so a
retried insert cannot create a second event and a delete never needs to have seen the
insert's answer.

Raising means "try again later" (with backoff, or after Google's Retry-After);
PermanentTaskError means retrying cannot help. What happened is written on the booking
(calendar_sync_status / calendar_sync_error), where staff see it and can retry from admin.
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
from integrations.google_calendar.models import GoogleCalendarConnection

logger = logging.getLogger(__name__)

SyncStatus = Booking.SyncStatus


class CalendarNotReady(Exception):
    """The calendar can't be written now (not connected, needs reconnect): retried with
    backoff, and reconnecting re-queues the waiting events at once."""


def create_event(*, booking_id: int, enabled: bool = True) -> None:
    booking = _booking(booking_id)
    if booking.status == Booking.Status.CANCELLED:
        return
    if booking.calendar_sync_status == SyncStatus.SYNCED and booking.calendar_event_id:
        return  # done by an earlier attempt
    if not enabled:
        _save(booking, status=SyncStatus.NOT_REQUIRED, error="")
        return
    connection = _usable_connection(booking)
    client = CalendarClient(connection)
    try:
        if booking.calendar_event_id:
            # Written before, then changed (staff moved it in admin): rewrite it in place.
            client.update_event(booking.calendar_id, booking.calendar_event_id, booking)
            calendar_id, event_id = booking.calendar_id, booking.calendar_event_id
        else:
            calendar_id, event_id = connection.write_calendar_id, client.insert_event(booking)
    except GoogleCalendarError as exc:
        _failed(booking, connection, exc)
    booking.calendar_id = calendar_id
    booking.calendar_event_id = event_id
    _save(booking, status=SyncStatus.SYNCED, error="", extra=["calendar_id", "calendar_event_id"])
    logger.info("Calendar event %s created for booking %s.", event_id, booking.pk)
    # Cancelled while we were writing the event: the cancellation's delete may have run
    # before the event existed, so remove it here too (a delete is idempotent).
    booking.refresh_from_db(fields=["status"])
    if booking.status == Booking.Status.CANCELLED:
        delete_event(booking_id=booking.pk)


def delete_event(*, booking_id: int) -> None:
    booking = _booking(booking_id)
    if booking.calendar_sync_status == SyncStatus.NOT_REQUIRED and not booking.calendar_event_id:
        return  # no event was ever wanted, or it is already gone
    connection = connections.connection_for(booking.business)
    disconnected = (
        connection is None or connection.status == GoogleCalendarConnection.Status.DISCONNECTED
    )
    if disconnected and not booking.calendar_event_id:
        # Cancelled before its event was ever written (the calendar went away first).
        _save(booking, status=SyncStatus.NOT_REQUIRED, error="")
        return
    if disconnected:
        raise PermanentTaskError(
            "Google Calendar is disconnected: remove this booking's event from the calendar "
            "by hand, or reconnect and retry."
        )
    connection = _usable_connection(booking)
    calendar_id = booking.calendar_id or connection.write_calendar_id
    try:
        CalendarClient(connection).delete_event(
            calendar_id, booking.calendar_event_id or event_id_for(booking)
        )
    except GoogleCalendarError as exc:
        _failed(booking, connection, exc, keep_status=True)
    booking.calendar_event_id = ""
    _save(booking, status=SyncStatus.NOT_REQUIRED, error="", extra=["calendar_event_id"])
    logger.info("Calendar event of cancelled booking %s deleted.", booking.pk)


def _booking(booking_id: int) -> Booking:
    booking = Booking.objects.select_related("business", "service").filter(pk=booking_id).first()
    if booking is None:
        raise PermanentTaskError(f"Booking {booking_id} no longer exists.")
    return booking


def _usable_connection(booking: Booking) -> GoogleCalendarConnection:
    connection = connections.connection_for(booking.business)
    if connection is None or not connection.is_usable:
        state = connection.get_status_display().lower() if connection else "not connected"
        message = f"Google Calendar is {state}; waiting for it to be connected."
        _note(booking, message)
        _give_up_if_last_attempt(booking, message)
        raise CalendarNotReady(message)
    return connection


def _failed(
    booking: Booking,
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
            _save(booking, status=SyncStatus.FAILED, error=message)
        else:
            _note(booking, message)
        raise PermanentTaskError(message) from exc
    # Retryable, or a dead token that a reconnect will fix: try again later.
    _note(booking, message)
    if not keep_status:
        _give_up_if_last_attempt(booking, message)
    if exc.retry_after:
        raise RetryAfter(exc.retry_after, message) from exc
    raise exc


def _give_up_if_last_attempt(booking: Booking, message: str) -> None:
    """The outbox gives up after its last attempt: the booking must then say 'failed'."""
    if booking.status == Booking.Status.CANCELLED:
        return
    task = provider_follow_ups([booking.pk]).filter(kind=PROVIDER_AFTER_BOOKING).first()
    if task is not None and task.attempts >= task.max_attempts:
        _save(booking, status=SyncStatus.FAILED, error=message)


def _note(booking: Booking, message: str) -> None:
    booking.calendar_sync_error = message[:2000]
    booking.save(update_fields=["calendar_sync_error", "updated_at"])


def _save(booking: Booking, *, status: str, error: str, extra: list[str] | None = None) -> None:
    booking.calendar_sync_status = status
    booking.calendar_sync_error = error[:2000]
    with transaction.atomic():
        booking.save(
            update_fields=["calendar_sync_status", "calendar_sync_error", "updated_at"]
            + (extra or [])
        )
        if status == SyncStatus.FAILED:
            # In the same transaction: a failure on record always has its notice queued.
            notify_sync_failed(booking=booking, error=error)
