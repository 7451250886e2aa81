"""One row per text we send (or try to), so a retry never texts the customer twice."""

from __future__ import annotations

from django.db import models


class SmsMessage(models.Model):
    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
        BOOKING_REMINDER = "booking_reminder", "Reminder"
        BOOKING_MOVED = "booking_moved", "Booking moved"
        BOOKING_CANCELLED = "booking_cancelled", "Booking cancelled"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # A send was attempted and we don't know whether the provider accepted it (timeout,
        # 5xx, crash): the next attempt looks it up before sending again.
        UNKNOWN = "unknown", "Unknown (looked up before any resend)"

    booking = models.ForeignKey(
        "bookings.Booking", on_delete=models.CASCADE, related_name="sms_messages"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    to = models.CharField(max_length=20)
    sender = models.CharField(
        max_length=40, help_text="The From number, or the messaging service SID (MG...)."
    )
    body = models.TextField(help_text="Frozen at the first attempt: retries send the same text.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    provider_sid = models.CharField("provider message id", max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "text message"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="one_sms_per_booking_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to} ({self.get_status_display()})"


class SmsOptOut(models.Model):
    """A customer texted STOP (or another of Twilio's opt-out words) to a business's number:
    no reminders or other texts from that business until they text START."""

    business = models.ForeignKey(
        "bookings.Business", on_delete=models.CASCADE, related_name="sms_opt_outs"
    )
    phone = models.CharField(max_length=20)
    opted_out_at = models.DateTimeField()

    class Meta:
        verbose_name = "text opt-out"
        ordering = ["-opted_out_at"]
        constraints = [
            models.UniqueConstraint(fields=["business", "phone"], name="one_opt_out_per_number")
        ]

    def __str__(self) -> str:
        return f"{self.phone} (no texts from {self.business})"


class IncomingSms(models.Model):
    """A text a customer sent to a business's number, and what we did with it. Keyed on
    Twilio's MessageSid: a retried webhook is recorded (and acted on) once."""

    class Action(models.TextChoices):
        CANCELLED = "cancelled", "Cancelled the booking"
        CONFIRMED = "confirmed", "Confirmed the booking"
        OPTED_OUT = "opted_out", "Opted out (no more texts)"
        OPTED_IN = "opted_in", "Opted back in"
        MESSAGE = "message", "Message for staff"

    business = models.ForeignKey(
        "bookings.Business", on_delete=models.CASCADE, related_name="incoming_texts"
    )
    message_sid = models.CharField("Twilio message SID", max_length=64, unique=True)
    from_number = models.CharField("from", max_length=32)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    booking = models.ForeignKey(
        "bookings.Booking",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incoming_texts",
    )
    note = models.CharField(max_length=200, blank=True, help_text="Why, when it matters.")

    class Meta:
        verbose_name = "text from a customer"
        verbose_name_plural = "texts from customers"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["business", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.body[:40]}"
