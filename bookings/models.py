"""The bookings domain: who answers, what can be booked, when, and what was booked."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings import schedules
from bookings.currencies import DEFAULT_CURRENCY, currency_choices
from bookings.phones import validate_e164
from bookings.slots import Schedule, ServiceRules


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York).")


def split_emails(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\s]+", value or "") if part.strip()]


def validate_email_list(value: str) -> None:
    for address in split_emails(value):
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(f"{address!r} is not an email address.") from exc


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Business(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True, help_text="Public id used in the Twilio webhook URLs.")
    timezone = models.CharField(
        max_length=64,
        choices=timezone_choices,
        validators=[validate_timezone],
        default="America/New_York",
    )
    phone_number = models.CharField(
        "Twilio number",
        max_length=20,
        unique=True,
        validators=[validate_e164],
        help_text="The number callers dial, in E.164 (+15555550100).",
    )
    min_notice_minutes = models.PositiveIntegerField(
        "minimum notice (minutes)", default=60, validators=[MaxValueValidator(60 * 24 * 30)]
    )
    horizon_days = models.PositiveIntegerField(
        "booking horizon (days)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="How far ahead callers may book.",
    )
    # The provider registry's keys (DEFAULT_PROVIDER is "native"); its choices are attached
    # in BookingsConfig.ready(), because the registry holds provider classes, which use
    # these models: importing it here would make a circle.
    booking_provider = models.CharField(max_length=40, default="native")
    provider_options = models.JSONField(default=dict, blank=True)
    reminder_hours = models.PositiveSmallIntegerField(
        "reminder text (hours before)",
        default=24,
        validators=[MaxValueValidator(24 * 14)],
        help_text="Customers get a text this long before each booking, once (0: no reminders). "
        "Bookings made less than this long ahead get none.",
    )
    transfer_number = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_e164],
        help_text="Where callers asking for a person are put through. Empty: take a message.",
    )
    greeting = models.TextField(
        blank=True, help_text="What callers hear first. Empty: a greeting with the name."
    )
    address = models.CharField(
        max_length=200,
        blank=True,
        help_text="Said to callers who ask where you are, e.g. '12 Main Street, Springfield'.",
    )
    currency = models.CharField(
        max_length=3,
        choices=currency_choices,
        default=DEFAULT_CURRENCY,
        help_text="What service prices are in; callers hear them as '35 dollars', '35 pounds'.",
    )
    about = models.CharField(
        "about line",
        max_length=300,
        blank=True,
        help_text="One or two sentences said to callers who ask about the business.",
    )
    notification_emails = models.TextField(
        "notify by email",
        blank=True,
        validators=[validate_email_list],
        help_text="Staff told when something needs them (a calendar to reconnect, a failed "
        "calendar sync, a message, a caller who asked for a person, the LLM receptionist "
        "falling back). One address per line or comma-separated.",
    )
    staff_sms_number = models.CharField(
        "notify by text",
        max_length=20,
        blank=True,
        validators=[validate_e164],
        help_text="Optional: a staff mobile (E.164) that gets a short text with each notice.",
    )
    is_active = models.BooleanField("active", default=True)
    # A new random value whenever its hours, special days or services change, so that every
    # process knows its cached copy of them is out of date (bookings.schedules).
    schedule_version = models.UUIDField(default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "businesses"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def reminder_lead(self) -> timedelta:
        return timedelta(hours=self.reminder_hours)

    @property
    def notification_email_list(self) -> list[str]:
        return split_emails(self.notification_emails)

    @property
    def welcome_greeting(self) -> str:
        return self.greeting or f"Hello, thanks for calling {self.name}. How can I help you?"

    def local_today(self) -> date:
        return timezone.now().astimezone(self.tz).date()

    def schedule(self) -> Schedule:
        """Opening hours and rules as plain data, with the exceptions that can still matter
        (this process's copy while it is current: bookings.schedules)."""
        return self._setup()[0]

    def active_services(self) -> list[Service]:
        """What callers can book, by name (this process's copy while it is current)."""
        return list(self._setup()[1])

    # The columns the schedule and services are built from (besides the rows they own): a
    # business read with only these (`only(*SCHEDULE_FIELDS)`) has everything they need.
    SCHEDULE_FIELDS = ("schedule_version", "timezone", "min_notice_minutes", "horizon_days")

    def _setup(self) -> tuple[Schedule, tuple[Service, ...]]:
        stamp = (*(getattr(self, name) for name in self.SCHEDULE_FIELDS), self.local_today())
        return schedules.cached(self.pk, stamp, self._load_setup)

    def _load_setup(self) -> tuple[Schedule, tuple[Service, ...]]:
        weekly: dict[int, list] = {}
        for hours in self.opening_hours.all():
            weekly.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
        exceptions: dict[date, list] = {}
        since = self.local_today() - timedelta(days=1)
        for special in self.exceptions.filter(date__gte=since):
            ranges = exceptions.setdefault(special.date, [])
            if not special.closed:
                ranges.append((special.opens, special.closes))
        schedule = Schedule(
            tz=self.tz,
            weekly={day: tuple(sorted(r)) for day, r in weekly.items()},
            exceptions={day: tuple(sorted(r)) for day, r in exceptions.items()},
            min_notice=timedelta(minutes=self.min_notice_minutes),
            horizon=timedelta(days=self.horizon_days),
            services=self.service_rules(),
        )
        return schedule, tuple(Service.objects.filter(business_id=self.pk, is_active=True))

    def service_rules(self) -> dict[int, ServiceRules]:
        """The rules of the services that have any of their own (two queries)."""
        hours: dict[int, dict[int, list]] = {}
        for row in ServiceHours.objects.filter(service__business=self):
            hours.setdefault(row.service_id, {}).setdefault(row.weekday, []).append(
                (row.opens, row.closes)
            )
        with_rules = self.services.filter(
            models.Q(pk__in=list(hours))
            | models.Q(buffer_minutes__gt=0)
            | models.Q(min_notice_minutes__isnull=False)
        )
        return {service.pk: service.rules(hours.get(service.pk)) for service in with_rules}


class WeeklyRange(models.Model):
    """A range of wall-clock time on a weekday, in the business's zone."""

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        abstract = True
        ordering = ["weekday", "opens"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.opens is not None and self.closes is not None and self.closes <= self.opens:
            raise ValidationError("Closing time must be after opening time.")


class OpeningHours(WeeklyRange):
    """One opening range on a weekday; several per day allowed (e.g. a lunch break)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="opening_hours")

    class Meta(WeeklyRange.Meta):
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="hours_close_after_open"
            )
        ]


class DateException(models.Model):
    """A holiday or special hours on one date. Rows for a date replace that weekday's hours."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    closed = models.BooleanField(default=True)
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date", "opens"]
        verbose_name = "special day"

    def __str__(self) -> str:
        if self.closed:
            return f"{self.date}: closed"
        return f"{self.date}: {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.closed:
            self.opens = self.closes = None
            return
        if self.opens is None or self.closes is None:
            raise ValidationError("Give opening and closing times, or tick 'closed'.")
        if self.closes <= self.opens:
            raise ValidationError("Closing time must be after opening time.")


class Service(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=80)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(12 * 60)]
    )
    synonyms = models.CharField(
        "other names",
        max_length=300,
        blank=True,
        help_text="Comma-separated words callers use for it, e.g. 'trim, beard'.",
    )
    # Optional: without a price the receptionist says the salon will confirm it, never a guess.
    price_from = models.DecimalField(
        "price",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Leave empty if callers should hear that the price will be confirmed.",
    )
    price_to = models.DecimalField(
        "up to",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Only for a price range ('from 40 to 60'); empty for a fixed price.",
    )
    is_active = models.BooleanField("active", default=True)
    buffer_minutes = models.PositiveSmallIntegerField(
        "buffer after (minutes)",
        default=0,
        validators=[MaxValueValidator(4 * 60)],
        help_text="Cleanup time after each appointment that the next booking can't use.",
    )
    min_notice_minutes = models.PositiveIntegerField(
        "minimum notice (minutes)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(60 * 24 * 30)],
        help_text="Empty: the business's minimum notice.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="service_name_per_business"),
            models.CheckConstraint(
                condition=models.Q(price_to__isnull=True)
                | (
                    models.Q(price_from__isnull=False)
                    & models.Q(price_to__gte=models.F("price_from"))
                ),
                name="service_price_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    def clean(self) -> None:
        if self.price_to is not None and self.price_from is None:
            raise ValidationError({"price_to": "Give the lowest price too, or leave both empty."})
        if self.price_to is not None and self.price_to < self.price_from:
            raise ValidationError({"price_to": "The top of the range is below the price."})

    @property
    def name_in_sentence(self) -> str:
        """The name as it reads mid-sentence ("your beard trim"): words written with a
        capital only because they start the name are lowered; acronyms ("OPI gel") stay."""
        return " ".join(
            word[0].lower() + word[1:] if word[:1].isupper() and word[1:].islower() else word
            for word in self.name.split(" ")
        )

    @property
    def synonym_list(self) -> tuple[str, ...]:
        return tuple(word.strip() for word in self.synonyms.split(",") if word.strip())

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)

    def rules(self, weekly: dict[int, list] | None = None) -> ServiceRules:
        """This service's own rules; `weekly` (its hours by weekday) when already loaded."""
        if weekly is None:
            weekly = {}
            for row in self.hours.all():
                weekly.setdefault(row.weekday, []).append((row.opens, row.closes))
        return ServiceRules(
            name=self.name,
            weekly={day: tuple(sorted(r)) for day, r in weekly.items()} if weekly else None,
            buffer=self.buffer,
            min_notice=(
                timedelta(minutes=self.min_notice_minutes)
                if self.min_notice_minutes is not None
                else None
            ),
        )


class ServiceHours(WeeklyRange):
    """When a service is offered, inside the opening hours. A service with no rows is
    offered whenever the business is open; with rows, only in them (e.g. colouring
    Tuesday to Saturday, 10:00-15:00)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="hours")

    class Meta(WeeklyRange.Meta):
        verbose_name = "service hours"
        verbose_name_plural = "service hours (empty: whenever open)"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")),
                name="service_hours_close_after_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service}: {super().__str__()}"


class BookingQuerySet(models.QuerySet):
    def confirmed(self) -> BookingQuerySet:
        return self.filter(status=Booking.Status.CONFIRMED)

    def with_blocked_until(self) -> BookingQuerySet:
        """`blocked_until`: when the slot is free again (the end, or the end of its buffer)."""
        return self.annotate(blocked_until=Coalesce("buffer_until", "end"))

    def overlapping(self, start, end) -> BookingQuerySet:
        """Bookings whose time, buffer included, overlaps [start, end)."""
        return self.with_blocked_until().filter(start__lt=end, blocked_until__gt=start)


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="bookings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    customer_name = models.CharField(max_length=120)
    customer_phone = models.CharField(max_length=20, validators=[validate_e164])
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The end of the service's cleanup buffer, when it has one: nobody else's booking may
    # start before it (the Postgres no-overlap constraint covers it). Null: no buffer.
    buffer_until = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CONFIRMED)
    provider = models.CharField(max_length=40, help_text="The booking provider that made it.")
    source_call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    # When the customer answered a reminder or confirmation with "Y" (calls.sms.replies).
    confirmed_by_text_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["business", "start"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="booking_ends_after_start"
            )
        ]
        # The no-overlap guarantee on Postgres is an exclusion constraint added by migration
        # 0002 (Postgres only); on SQLite it is bookings.services.book_slot's IMMEDIATE write.

    def __str__(self) -> str:
        local = self.start.astimezone(self.business.tz)
        return f"{self.service} for {self.customer_name}, {local:%Y-%m-%d %H:%M}"


class OutboxTask(models.Model):
    """Durable work that must happen after a write, off the request's critical path (texts,
    calendar events). Handlers are looked up by `kind` in bookings.outbox's registry."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=80)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=12)
    # Pending: when it may run next. Running: when its lease ends and another worker may
    # reclaim it (the process that claimed it is presumed dead by then).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["next_attempt_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} [{self.dedupe_key}] ({self.get_status_display()})"


class WorkerHeartbeat(models.Model):
    """One row per running `manage.py run_worker`, touched every few seconds: the landing
    page and /healthz tell from it whether anything is working through the outbox."""

    worker = models.CharField(max_length=200, unique=True, help_text="host:pid")
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.worker
