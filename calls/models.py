"""Calls: one row per phone (or simulator) call, with its transcript as insert-only turns."""

from __future__ import annotations

from django.db import models

from calls.dialogue.registry import DEFAULT_ENGINE, engine_choices


class Call(models.Model):
    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"
        MOVED = "moved", "Moved"
        TRANSFERRED = "transferred", "Transferred"
        MESSAGE_TAKEN = "message_taken", "Message taken"
        # Ended by the caller with nothing changed: questions answered, or a read-back
        # (booking, move, cancellation) they said no to. Not "abandoned" (hung up early).
        ANSWERED = "answered", "Questions answered"
        DECLINED = "declined", "Declined at read-back"
        ABANDONED = "abandoned", "Abandoned"
        FAILED = "failed", "Failed"

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone (Twilio)"
        SIMULATOR = "simulator", "Simulator"

    sid = models.CharField("call SID", max_length=64, unique=True)
    business = models.ForeignKey(
        "bookings.Business", on_delete=models.CASCADE, related_name="calls"
    )
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.PHONE)
    from_number = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    # When Twilio's ConversationRelay socket for this call was accepted: set once, by the one
    # process whose conditional UPDATE claimed the call (calls.services.claim_relay_socket).
    relay_connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    engine = models.CharField("dialogue engine", max_length=40, blank=True)
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    message = models.TextField("message taken", blank=True)
    handoff_to = models.CharField(max_length=32, blank=True)
    # What Twilio reported when the ConversationRelay session ended (<Connect action>).
    session_status = models.CharField(max_length=32, blank=True)
    session_error = models.TextField(blank=True)
    # Things staff should know about this call: errors Twilio reported, limits reached,
    # an engine fallback. A list of {"at": iso, "event": str, "detail": str}.
    events = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["business", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.sid} ({self.get_outcome_display()})"


class CallTurn(models.Model):
    """One thing said on a call. Insert-only: the hot path never rewrites a call row's blob."""

    class Speaker(models.TextChoices):
        CALLER = "caller", "Caller"
        RECEPTIONIST = "receptionist", "Receptionist"
        SYSTEM = "system", "System"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    speaker = models.CharField(max_length=12, choices=Speaker.choices)
    text = models.TextField()
    at = models.DateTimeField()
    # The caller talked over this answer: `text` is what they actually heard.
    interrupted = models.BooleanField(default=False)
    # Receptionist answers: how long the caller waited for the first words (the dashboard's
    # latency figures). Empty for the greeting and the caller's own turns.
    first_token_ms = models.PositiveIntegerField("first words after (ms)", null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.speaker}: {self.text[:60]}"


class ReceptionistSettings(models.Model):
    """How a business's calls are answered: which dialogue engine (the embedded receptionist
    unless ops choose otherwise) and, for the LLM engine, an optional model override."""

    business = models.OneToOneField(
        "bookings.Business", on_delete=models.CASCADE, related_name="receptionist_settings"
    )
    engine = models.CharField(
        "dialogue engine", max_length=40, choices=engine_choices, default=DEFAULT_ENGINE
    )
    llm_model = models.CharField(
        "LLM model",
        max_length=120,
        blank=True,
        help_text="Only for the LLM engine. Empty: the LLM_MODEL setting.",
    )

    class Meta:
        verbose_name = "receptionist settings"
        verbose_name_plural = "receptionist settings"

    def __str__(self) -> str:
        return f"{self.business}: {self.get_engine_display()}"


from calls.sms.models import IncomingSms, SmsMessage, SmsOptOut  # noqa: E402, F401  (the app's models live here)


class CallDay(models.Model):
    """One business's calls on one day of its own calendar, counted: the dashboard's rollup
    (calls.call_days), so a period of any length reads a row per day, not every call.
    Recounted from the calls when one of that day's calls ends, filled for any past day the
    dashboard finds missing, and rebuilt by `manage.py rebuild_call_days`."""

    business = models.ForeignKey(
        "bookings.Business", on_delete=models.CASCADE, related_name="call_days"
    )
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    booked = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    messages = models.PositiveIntegerField(default=0)
    transfers = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    declined = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    llm_fallbacks = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "day"], name="one_call_day_per_business")
        ]

    def __str__(self) -> str:
        return f"{self.business_id} {self.day}: {self.calls} calls"


class CallDayLatency(models.Model):
    """How many of the receptionist's turns on that day took this many milliseconds to their
    first words: the day's latency histogram, so percentiles of a period add days up."""

    # Indexed by the constraint and the covering index below, both led by call_day.
    call_day = models.ForeignKey(
        CallDay, on_delete=models.CASCADE, related_name="latencies", db_index=False
    )
    first_token_ms = models.PositiveIntegerField()
    turns = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["call_day", "first_token_ms"], name="one_latency_count_per_call_day"
            )
        ]
        # A period's histogram is summed from this index alone, not the table.
        indexes = [
            models.Index(
                fields=["call_day", "first_token_ms", "turns"], name="call_day_latency_sum"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_token_ms} ms: {self.turns} turns"
