"""One row per text we send (or try to), so a retry never texts the customer twice."""

from __future__ import annotations

from django.db import models


class SmsMessage(models.Model):
    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
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
