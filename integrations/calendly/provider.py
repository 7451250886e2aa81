"""CalendlyProvider: Calendly is the source of truth for a business that books through it.

Times offered are the mapped event type's available times in Calendly (GET
/event_type_available_times); a booking is made by creating the invitee in Calendly (POST
/invitees) and only then recorded here, marked as Calendly's with its invitee, so staff see
it and the caller's "when is my appointment?" and cancellations still work. A cancellation
is sent to Calendly from the durable outbox (POST /scheduled_events/{uuid}/cancellation).

Nothing Calendly owns is ever booked locally on our own authority: when Calendly is not
connected, down, rate limited or refuses our token, or a service has no event type, or no
phone-booking email is set, the caller hears that we can't book on this call and is offered
a message (Refusal.UNAVAILABLE / ProviderUnavailable); the problem is recorded on the
connection, and a lost grant notifies staff.

Speed during a call: `prepare_for_call` fetches the first week of every mapped service's
times in the background as the call starts; later answers reuse what this call fetched (for
BUSY_TTL_SECONDS). The booking itself is Calendly's own check: a time taken meanwhile comes
back refused, and is then confirmed gone by a fresh read before the caller is told "taken".
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, Service
from bookings.notifications import Alert, notify_staff
from bookings.orm import run_orm
from bookings.outbox import PermanentTaskError, RetryAfter
from bookings.providers.base import (
    AvailabilityResult,
    BookingContext,
    BookingIntent,
    BookingProvider,
    ProviderUnavailable,
)
from bookings.services import book_slot
from bookings.services import move_booking as move_booked_slot
from bookings.slots import Refusal, check_slot
from calls.sms.services import opted_out
from integrations.calendar_base.off_loop import calendar_http
from integrations.calendly import connections
from integrations.calendly.client import (
    AVAILABLE_TIMES_WINDOW,
    CalendlyClient,
    CalendlyError,
    Invitee,
)
from integrations.calendly.models import CalendlyBooking, CalendlyConnection, CalendlyEventType

logger = logging.getLogger(__name__)

# Times fetched for a call are trusted this long; the booking is Calendly's own check anyway.
BUSY_TTL_SECONDS = 300
# After a failed fetch, don't make every answer wait on Calendly again straight away.
FAILURE_TTL_SECONDS = 30
ALTERNATIVES = 3
CANCEL_REASON = "Cancelled by the customer through the phone receptionist."


@dataclass
class _Fetched:
    start: datetime
    end: datetime
    starts: tuple[datetime, ...]
    fetched_at: float = field(default_factory=time.monotonic)

    def covers(self, start: datetime, end: datetime) -> bool:
        fresh = time.monotonic() - self.fetched_at < BUSY_TTL_SECONDS
        return fresh and self.start <= start and end <= self.end


class CalendlyProvider(BookingProvider):
    name = "calendly"
    label = "Calendly (times and bookings in Calendly)"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._fetched: dict[str, list[_Fetched]] = {}
        self._connection: CalendlyConnection | None = None
        self._mappings: dict[int, CalendlyEventType] | None = None
        self._loading: asyncio.Task | None = None  # reading the rows, awaited by every caller
        self._reported: set[str] = set()
        self._failed_at: float | None = None  # time.monotonic() of the last failed fetch

    # -- The provider contract ----------------------------------------------------------

    async def prepare_for_call(self) -> None:
        await self._load()
        now = timezone.now()
        uris = {m.uri for m in (self._mappings or {}).values()}
        await asyncio.gather(
            *(self._starts(uri, now, now + AVAILABLE_TIMES_WINDOW) for uri in uris)
        )

    async def check_availability(self, context: BookingContext) -> AvailabilityResult:
        mapping = await self._mapping_for(context.service)
        if mapping is None:
            return AvailabilityResult(available=False, reason=Refusal.UNAVAILABLE)
        day_start, day_end = self._around(context.start)
        starts = await self._starts(mapping.uri, day_start, day_end)
        if starts is None:
            return AvailabilityResult(available=False, reason=Refusal.UNAVAILABLE)
        if context.start in starts:
            return AvailabilityResult(available=True)
        return AvailabilityResult(
            available=False,
            reason=await run_orm(self._why_not)(context),
            alternatives=await self._alternatives(mapping, context.start, starts),
        )

    async def free_starts(
        self,
        *,
        service: Service,
        start: datetime,
        end: datetime,
        limit: int,
        moving_booking_id: int | None = None,
    ) -> list[datetime]:
        mapping = await self._mapping_for(service)
        if mapping is None:
            raise ProviderUnavailable(f"{service} has no Calendly event type")
        starts = await self._starts(mapping.uri, start, end)
        if starts is None:
            raise ProviderUnavailable("Calendly can't be reached")
        return [s for s in starts if start <= s < end][:limit]

    async def create_booking(self, context: BookingContext) -> BookingIntent:
        booked = await self._book_at_calendly(context)
        if not isinstance(booked, Invitee):
            return booked
        try:
            outcome = await run_orm(self._record_new)(context, booked)
        except Exception:
            return await self._not_recorded(context, booked)
        return await self._settled(context, booked, outcome)

    async def move_booking(self, context: BookingContext, booking_id: int) -> BookingIntent:
        """A new invitee at the new time first; then, in one transaction here, the new
        booking replaces the old one, whose Calendly event is cancelled from the outbox (as
        any cancellation). Calendly's own reschedule isn't in its API for integrations."""
        booked = await self._book_at_calendly(context)
        if not isinstance(booked, Invitee):
            return booked
        try:
            outcome = await run_orm(self._record_move)(context, booking_id, booked)
        except Exception:
            return await self._not_recorded(context, booked)
        return await self._settled(context, booked, outcome)

    async def after_booking(self, context: BookingContext, booking_id: int) -> None:
        return None  # Calendly made the booking itself: nothing is left to write

    def on_cancelled(self, booking: Booking) -> bool:
        return bool(
            CalendlyBooking.objects.filter(
                booking=booking,
                status__in=[CalendlyBooking.Status.BOOKED, CalendlyBooking.Status.CANCEL_FAILED],
            ).update(status=CalendlyBooking.Status.CANCEL_PENDING, error="")
        )

    async def after_cancel(self, context: BookingContext, booking_id: int) -> None:
        """Runs in the durable outbox: cancel the scheduled event at Calendly, or raise to
        retry (RetryAfter for a rate limit; PermanentTaskError when retrying can't help)."""
        await calendar_http(cancel_at_calendly)(booking_id=booking_id)

    # -- Booking at Calendly ------------------------------------------------------------

    async def _book_at_calendly(self, context: BookingContext) -> Invitee | BookingIntent:
        mapping = await self._mapping_for(context.service)
        connection = await self._usable_connection()
        if mapping is None or connection is None:
            return BookingIntent(booked=False, reason=Refusal.UNAVAILABLE)
        if not connection.invitee_email:
            await self._record(
                connections.NO_INVITEE_EMAIL,
                "set the email given to Calendly for phone bookings on the business's page",
            )
            return BookingIntent(booked=False, reason=Refusal.UNAVAILABLE)
        client = self._client(connection)
        # Calendly texts reminders to this number: not to a caller who texted us STOP.
        texts_allowed = not await run_orm(opted_out)(self.business, context.customer_phone)
        try:
            return await calendar_http(client.create_invitee)(
                event_type_uri=mapping.uri,
                start=context.start,
                name=context.customer_name,
                email=connection.invitee_email,
                timezone=self.business.timezone,
                phone=context.customer_phone if texts_allowed else "",
            )
        except CalendlyError as exc:
            return await self._refused(context, mapping, exc)

    async def _refused(
        self, context: BookingContext, mapping: CalendlyEventType, exc: CalendlyError
    ) -> BookingIntent:
        if exc.kind == connections.REFUSED:
            # Calendly's reason for a lost time is not documented: read the times again and
            # say "taken" only when the time is really gone.
            self._fetched.pop(mapping.uri, None)
            self._failed_at = None
            day_start, day_end = self._around(context.start)
            starts = await self._starts(mapping.uri, day_start, day_end)
            if starts is not None and context.start not in starts:
                return BookingIntent(
                    booked=False,
                    reason=Refusal.TAKEN,
                    alternatives=await self._alternatives(mapping, context.start, starts),
                )
        if exc.kind == connections.API_DOWN and exc.sent:
            # The write reached Calendly (or may have) but no clear answer came back (a
            # timeout, a 5xx): Calendly may have booked it. Staff must look.
            local = context.start.astimezone(self.business.tz)
            what = (
                f"{context.customer_name} ({context.customer_phone}), {context.service.name}, "
                f"{local:%Y-%m-%d %H:%M %Z}"
            )
            await self._record(connections.UNCONFIRMED, f"{what}: {exc}", once=False)
            await run_orm(_notify_unconfirmed)(context=context, what=what)
        elif exc.kind != connections.TOKEN_REVOKED:
            await self._record(exc.kind, str(exc), once=False)
        return BookingIntent(booked=False, reason=Refusal.UNAVAILABLE)

    def _record_new(self, context: BookingContext, invitee: Invitee):
        with transaction.atomic():
            outcome = book_slot(
                business=self.business,
                service=context.service,
                start=context.start,
                customer_name=context.customer_name,
                customer_phone=context.customer_phone,
                provider=self.name,
                call_sid=context.call_sid,
                owner_checked=True,
            )
            if outcome.booking is not None:
                _remember_invitee(outcome.booking, invitee)
        return outcome

    def _record_move(self, context: BookingContext, booking_id: int, invitee: Invitee):
        booking = Booking.objects.select_related("business", "service").get(
            pk=booking_id, business=self.business
        )
        with transaction.atomic():
            outcome = move_booked_slot(
                booking=booking,
                start=context.start,
                call_sid=context.call_sid,
                owner_checked=True,
                provider=self.name,  # booked in Calendly now, whoever made the old one
            )
            if outcome.booking is not None:
                _remember_invitee(outcome.booking, invitee)
        return outcome

    async def _settled(self, context: BookingContext, invitee: Invitee, outcome) -> BookingIntent:
        if outcome.booking is not None:
            self._fetched.clear()  # the host is busy then now, whatever this call read before
            return BookingIntent(booked=True, booking_id=outcome.booking.pk)
        # Calendly booked a time our own records hold for someone else (a booking staff made
        # here): undo it at Calendly rather than keep a booking only Calendly knows.
        await self._undo_at_calendly(
            context,
            invitee,
            reason="Booked twice: this time is already taken.",
            problem="clashes with one of our bookings",
            key=f"calendly-clash:{invitee.uri}",
        )
        mapping = await self._mapping_for(context.service)
        day_start, day_end = self._around(context.start)
        starts = await self._starts(mapping.uri, day_start, day_end) if mapping else None
        alternatives = (
            await self._alternatives(mapping, context.start, starts) if mapping and starts else []
        )
        return BookingIntent(
            booked=False, reason=outcome.refusal or Refusal.TAKEN, alternatives=alternatives
        )

    async def _not_recorded(self, context: BookingContext, invitee: Invitee) -> BookingIntent:
        """Calendly booked it but saving it here failed: a booking only Calendly knows would
        be lost to staff and to the caller's later questions, so it is undone at Calendly."""
        logger.exception(
            "Calendly booked %s for %s but it could not be recorded here: cancelling it.",
            invitee.event_uri,
            self.business.slug,
        )
        await self._undo_at_calendly(
            context,
            invitee,
            reason="The booking could not be recorded; please book again.",
            problem="could not be recorded here",
            key=f"calendly-unrecorded:{invitee.uri}",
        )
        return BookingIntent(booked=False, reason=Refusal.UNAVAILABLE)

    async def _undo_at_calendly(
        self, context: BookingContext, invitee: Invitee, *, reason: str, problem: str, key: str
    ) -> None:
        """Cancel an event Calendly booked that we can't keep; when that fails, staff must."""
        connection = await self._usable_connection()
        try:
            if connection is None:
                raise CalendlyError("Calendly is not connected", kind=connections.NOT_CONNECTED)
            event_uuid = invitee.event_uri.rstrip("/").rsplit("/", 1)[-1]
            await calendar_http(self._client(connection).cancel_event)(event_uuid, reason=reason)
        except CalendlyError as exc:
            detail = (
                f"{invitee.event_uri} {problem} and could not be cancelled ({exc}): "
                "cancel it in Calendly"
            )
            await self._record(connections.CANCEL_FAILED, detail, once=False)
            try:
                await run_orm(_notify_not_cancelled)(context=context, key=key, detail=detail)
            except Exception:
                logger.exception("Could not tell staff of %s", detail)

    # -- Reading Calendly's times ---------------------------------------------------------

    def _around(self, start: datetime) -> tuple[datetime, datetime]:
        """The wanted day (in the business's zone) and the two after it: where alternatives
        are looked for first."""
        local = start.astimezone(self.business.tz)
        first = datetime.combine(local.date(), datetime.min.time(), tzinfo=self.business.tz)
        return first, first + timedelta(days=3)

    async def _alternatives(
        self, mapping: CalendlyEventType, wanted: datetime, starts: list[datetime]
    ) -> list[datetime]:
        now = timezone.now()
        candidates = [s for s in starts if s > now and s != wanted]
        if not candidates:
            later = await self._starts(mapping.uri, now, now + AVAILABLE_TIMES_WINDOW) or []
            candidates = [s for s in later if s != wanted]
        nearest = sorted(candidates, key=lambda s: (abs(s - wanted), s))[:ALTERNATIVES]
        return sorted(nearest)

    async def _starts(self, uri: str, start: datetime, end: datetime) -> list[datetime] | None:
        """Calendly's available starts for the event type in [start, end): from this call's
        memory when fresh, else fetched. None when Calendly can't tell (recorded)."""
        start = max(start, timezone.now())  # the past has no available times
        if end <= start:
            return []
        for fetched in self._fetched.get(uri, []):
            if fetched.covers(start, end):
                return [s for s in fetched.starts if start <= s < end]
        connection = await self._usable_connection()
        if connection is None:
            return None
        if self._failed_at is not None and time.monotonic() - self._failed_at < FAILURE_TTL_SECONDS:
            return None
        try:
            starts = await calendar_http(self._client(connection).available_starts)(uri, start, end)
        except CalendlyError as exc:
            self._failed_at = time.monotonic()
            if exc.kind != connections.TOKEN_REVOKED:
                await self._record(exc.kind, str(exc))
            logger.warning(
                "Calendly unavailable for %s (%s): no booking by phone.",
                self.business.slug,
                exc.kind,
            )
            return None
        self._fetched.setdefault(uri, []).append(_Fetched(start, end, tuple(starts)))
        return starts

    def _why_not(self, context: BookingContext) -> Refusal:
        """Calendly doesn't offer the time: our own rules' reason when they give one (closed,
        too soon...), else "taken"."""
        schedule = self.business.schedule().for_service(context.service.pk)
        return check_slot(schedule, context.start, context.end, [], timezone.now()) or Refusal.TAKEN

    # -- Connection and mappings ----------------------------------------------------------

    def _client(self, connection: CalendlyConnection) -> CalendlyClient:
        return CalendlyClient(connection, timeout=settings.CALENDLY_IN_CALL_TIMEOUT, retries=1)

    async def _load(self) -> None:
        """Read the connection and mappings once per call. prepare_for_call starts this in
        the background: every caller awaits the same read, none sees it half done."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._read())
        loading = self._loading
        try:
            # Shielded: a caller cancelled while waiting (the prefetch at hang-up) must not
            # cancel the read the others wait on.
            await asyncio.shield(loading)
        except Exception:
            if self._loading is loading and loading.done():
                self._loading = None  # a failed read is tried again by the next caller
            raise

    async def _read(self) -> None:
        self._connection, self._mappings = await run_orm(self._read_rows)()
        if self._connection is not None and self._connection.tokens_unreadable:
            logger.error(
                "Calendly tokens of %s cannot be decrypted with FERNET_KEYS: no booking by phone.",
                self.business.slug,
            )
            await run_orm(connections.record_undecryptable)(business=self.business)
            self._connection = None

    def _read_rows(self) -> tuple[CalendlyConnection | None, dict[int, CalendlyEventType]]:
        mappings = CalendlyEventType.objects.filter(service__business=self.business)
        return connections.connection_for(self.business), {m.service_id: m for m in mappings}

    async def _usable_connection(self) -> CalendlyConnection | None:
        await self._load()
        connection = self._connection
        if connection is None or not connection.is_usable:
            if connections.NOT_CONNECTED not in self._reported:
                self._reported.add(connections.NOT_CONNECTED)
                logger.warning(
                    "Business %s books through Calendly but Calendly is %s: no booking by phone.",
                    self.business.slug,
                    connection.get_status_display().lower() if connection else "never connected",
                )
            return None
        return connection

    async def _mapping_for(self, service: Service) -> CalendlyEventType | None:
        await self._load()
        mapping = (self._mappings or {}).get(service.pk)
        if mapping is None:
            await self._record(
                connections.NO_EVENT_TYPE,
                f"{service.name}: choose its event type on the business's page",
            )
        return mapping

    async def _record(self, kind: str, detail: str, *, once: bool = True) -> None:
        if once and kind in self._reported:
            return  # once per call is enough for staff; the log has each one
        self._reported.add(kind)
        connection = self._connection
        if connection is None:
            logger.warning("Calendly problem for %s: %s: %s", self.business.slug, kind, detail)
            return
        try:
            await run_orm(connections.record_problem)(
                connection=connection, kind=kind, detail=detail
            )
        except Exception:
            logger.exception("Could not record a Calendly problem for %s", self.business.slug)


def _remember_invitee(booking: Booking, invitee: Invitee) -> CalendlyBooking:
    return CalendlyBooking.objects.create(
        booking=booking, invitee_uri=invitee.uri, event_uri=invitee.event_uri
    )


def cancel_at_calendly(*, booking_id: int) -> None:
    """The outbox's work for a cancelled Calendly booking (blocking)."""
    record = (
        CalendlyBooking.objects.select_related("booking__business")
        .filter(booking_id=booking_id)
        .first()
    )
    if record is None or record.status != CalendlyBooking.Status.CANCEL_PENDING:
        return  # nothing at Calendly, or done already
    business = record.booking.business
    connection = connections.connection_for(business)
    if connection is None or not connection.is_usable or connection.tokens_unreadable:
        # Waits for a reconnect: retried by the outbox with backoff.
        raise RuntimeError("Calendly is not connected: the cancellation waits for a reconnect")
    try:
        CalendlyClient(connection).cancel_event(record.event_uuid, reason=CANCEL_REASON)
    except CalendlyError as exc:
        if exc.kind == connections.RATE_LIMITED:
            raise RetryAfter(exc.retry_after or 30.0) from exc
        if not exc.permanent or exc.kind == connections.TOKEN_REVOKED:
            raise
        _cancel_failed(record, str(exc))
        raise PermanentTaskError(str(exc)) from exc
    CalendlyBooking.objects.filter(pk=record.pk).update(
        status=CalendlyBooking.Status.CANCELLED, error=""
    )
    logger.info("Calendly event %s cancelled for booking %s.", record.event_uuid, booking_id)


def _cancel_failed(record: CalendlyBooking, error: str) -> None:
    CalendlyBooking.objects.filter(pk=record.pk).update(
        status=CalendlyBooking.Status.CANCEL_FAILED, error=error[: connections.ERROR_LIMIT]
    )
    booking = record.booking
    local = booking.start.astimezone(booking.business.tz)
    notify_staff(
        business=booking.business,
        alert=Alert.SYNC_FAILED,
        key=f"calendly-cancel:{booking.pk}",
        subject=f"A cancelled booking is still in Calendly ({local:%a %b %d, %H:%M})",
        body=(
            f"The booking {booking} was cancelled here, but Calendly refused to cancel its "
            f"event: {error}\n\nCancel it in Calendly."
        ),
        admin_path=reverse("admin:bookings_booking_change", args=[booking.pk]),
    )


def _notify_unconfirmed(*, context: BookingContext, what: str) -> None:
    """The caller was told nothing was booked, but Calendly may have booked it: staff check
    Calendly and call the customer back."""
    notify_staff(
        business=context.business,
        alert=Alert.SYNC_FAILED,
        key=f"calendly-unconfirmed:{context.call_sid}:{context.start.isoformat()}",
        subject="Calendly did not confirm a booking",
        body=(
            f"A caller asked to book {what}. Calendly gave no clear answer (no answer in "
            "time, or a server error), so the caller "
            "was told it was not booked and offered a message. Check Calendly: if the booking "
            "is there, keep or cancel it and call the customer back."
        ),
        admin_path=reverse("admin:bookings_business_change", args=[context.business.pk]),
    )


def _notify_not_cancelled(*, context: BookingContext, key: str, detail: str) -> None:
    """A booking is in Calendly that we could not keep nor cancel: staff cancel it."""
    local = context.start.astimezone(context.business.tz)
    notify_staff(
        business=context.business,
        alert=Alert.SYNC_FAILED,
        key=key,
        subject=f"Cancel a booking in Calendly ({local:%a %b %d, %H:%M})",
        body=(
            f"{context.customer_name} ({context.customer_phone}), {context.service.name}, "
            f"{local:%Y-%m-%d %H:%M %Z}: the caller was told it was not booked, but Calendly "
            f"booked it. {detail}."
        ),
        admin_path=reverse("admin:bookings_business_change", args=[context.business.pk]),
    )
