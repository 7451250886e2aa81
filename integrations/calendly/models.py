"""A business that books through Calendly: its connection (tokens encrypted at rest), which
Calendly event type each of our services is, and the Calendly invitee behind each booking."""

from __future__ import annotations

from django.db import models

from bookings.models import Booking, Business, Service
from integrations.calendar_base.models import CalendarConnection


class CalendlyConnection(CalendarConnection):
    """A business's connection to one Calendly user (account_email: the user's email)."""

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="calendly")
    # Who we act for, from the token response (`owner`, `organization`) and GET /users/me.
    user_uri = models.URLField(max_length=500, blank=True)
    organization_uri = models.URLField(max_length=500, blank=True)
    user_name = models.CharField(max_length=255, blank=True)
    # Calendly requires an email for every invitee and sends its confirmation there. Callers
    # don't give one on the phone, so bookings by phone carry this business-owned address
    # (never one we make up, which could belong to a stranger). Empty: no booking by phone.
    invitee_email = models.EmailField(
        "email given to Calendly for phone bookings",
        blank=True,
        help_text="An address the business owns (e.g. bookings@yoursalon.com). Calendly "
        "requires an invitee email and sends its confirmation and reminders there; the caller "
        "still gets our text. Empty: callers can't book by phone and are offered a message.",
    )

    class Meta:
        verbose_name = "Calendly connection"


class CalendlyEventType(models.Model):
    """Which Calendly event type one of our services is booked as (chosen in admin from the
    connected user's event types)."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="calendly_event_type"
    )
    uri = models.URLField("event type", max_length=500)
    name = models.CharField(max_length=255, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Calendly event type"

    def __str__(self) -> str:
        return f"{self.service} -> {self.name or self.uri}"


class CalendlyBooking(models.Model):
    """The Calendly invitee (and scheduled event) behind one of our bookings. Calendly made
    and owns the booking; ours is the record staff and "when is my appointment?" read."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked in Calendly"
        CANCEL_PENDING = "cancel_pending", "Cancellation waiting for Calendly"
        CANCELLED = "cancelled", "Cancelled in Calendly"
        CANCEL_FAILED = "cancel_failed", "Calendly did not cancel it"

    booking = models.OneToOneField(
        Booking, on_delete=models.CASCADE, primary_key=True, related_name="calendly_booking"
    )
    invitee_uri = models.URLField(max_length=500)
    event_uri = models.URLField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Calendly booking"

    def __str__(self) -> str:
        return f"{self.booking} ({self.get_status_display()})"

    @property
    def event_uuid(self) -> str:
        return self.event_uri.rstrip("/").rsplit("/", 1)[-1]
