from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bookings.admin_forms import BusinessAdminForm, option_field_names
from bookings.admin_times import business_time_column, local_time, utc_column
from bookings.models import (
    Booking,
    Business,
    DateException,
    OpeningHours,
    OutboxTask,
    Service,
    ServiceHours,
    WeeklyRange,
)
from bookings.outbox import retry_now
from bookings.providers.registry import DEFAULT_PROVIDER
from bookings.services import buffer_until, cancel_booking, save_staff_booking


def admin_page(model_admin, func, *args):
    """A page of `model_admin`'s own (func(model_admin, request, *args, **url_kwargs)) behind
    admin's login and CSRF handling, for its get_urls()."""
    return model_admin.admin_site.admin_view(
        lambda request, **kwargs: func(model_admin, request, *args, **kwargs)
    )


class BusinessColumnMixin:
    """Lists of a business's rows: with one business, its name in every row costs a column
    and says nothing."""

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if "business" in columns and Business.objects.count() < 2:
            columns.remove("business")
        return columns


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class DateExceptionInline(admin.TabularInline):
    model = DateException
    extra = 0


class ServiceInline(admin.TabularInline):
    """Services with their buffer and notice; their own days and hours are on the
    service's page ("Change"), as rows like the business's opening hours."""

    model = Service
    extra = 0
    show_change_link = True
    readonly_fields = ["offered"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("hours")

    @admin.display(description="offered")
    def offered(self, service: Service) -> str:
        if service.pk is None:
            return "whenever open"
        rows = service.hours.all()
        return ", ".join(WeeklyRange.__str__(row) for row in rows) or "whenever open"


class ServiceHoursInline(admin.TabularInline):
    model = ServiceHours
    extra = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "business", "duration_minutes", "buffer_minutes", "is_active"]
    list_filter = ["business", "is_active"]
    search_fields = ["name", "synonyms"]
    list_select_related = ["business"]
    inlines = [ServiceHoursInline]


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    form = BusinessAdminForm
    list_display = ["name", "slug", "phone_number", "timezone", "booking_provider", "is_active"]
    # The kill switch: ops flip a business's provider straight from the changelist.
    list_editable = ["booking_provider", "is_active"]
    list_filter = ["booking_provider", "is_active"]
    search_fields = ["name", "slug", "phone_number"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OpeningHoursInline, DateExceptionInline, ServiceInline]
    readonly_fields = ["shortcuts"]
    # More links for the top of the business's page, (label, business -> URL), added by the
    # apps that build on bookings (calls adds its dashboard).
    extra_shortcuts: list = []
    base_fieldsets = [
        (None, {"fields": ["shortcuts", "name", "slug", "is_active", "greeting"]}),
        ("What callers can ask", {"fields": ["address", "about", "currency"]}),
        ("Phone", {"fields": ["phone_number", "transfer_number"]}),
        ("Staff notifications", {"fields": ["notification_emails", "staff_sms_number"]}),
        ("Booking rules", {"fields": ["timezone", "min_notice_minutes", "horizon_days"]}),
        ("Texts to customers", {"fields": ["reminder_hours"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        key = request.POST.get("booking_provider") or (obj.booking_provider if obj else None)
        options = option_field_names(key or DEFAULT_PROVIDER)
        return [
            *self.base_fieldsets,
            ("Booking provider", {"fields": ["booking_provider", *options]}),
        ]

    def get_urls(self):
        # Imported here: the views build on this module's admin classes.
        from bookings import schedule_views

        def view(func, *args):
            return admin_page(self, func, *args)

        return [
            path(
                "schedule/",
                view(
                    schedule_views.choose_business,
                    "admin:bookings_business_schedule",
                    "Schedule",
                ),
                name="bookings_business_choose_schedule",
            ),
            path(
                "<path:object_id>/schedule/",
                view(schedule_views.schedule_page),
                name="bookings_business_schedule",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="see")
    def shortcuts(self, business: Business) -> str:
        if business.pk is None:
            return "The schedule opens once the business is saved."
        url = reverse("admin:bookings_business_schedule", args=[business.pk])
        links = [
            ("Today's schedule", url),
            ("This week", f"{url}?view=week"),
            *((label, link(business)) for label, link in self.extra_shortcuts),
        ]
        return format_html_join(" &middot; ", '<a href="{}">{}</a>', ((u, t) for t, u in links))

    def get_changelist_formset(self, request, **kwargs):
        # The list's provider switch names providers briefly ("Google Calendar"); the full
        # explanation is on the business's page and in the filter.
        formset = super().get_changelist_formset(request, **kwargs)
        field = formset.form.base_fields["booking_provider"]
        field.choices = [(key, label.split(" (")[0]) for key, label in field.choices]
        return formset

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The option fields are added by the form itself; only model fields go to the factory.
        kwargs["fields"] = BusinessAdminForm.Meta.fields
        return super().get_form(request, obj, change, **kwargs)


class BookingAdminForm(forms.ModelForm):
    """Staff bookings keep the one rule that never bends: no overlap with a confirmed one."""

    class Meta:
        model = Booking
        fields = ["business", "service", "customer_name", "customer_phone", "start", "status"]
        help_texts = {"start": "In the business's own time zone."}

    def clean(self):
        cleaned = super().clean()
        business, service, start = (cleaned.get(k) for k in ("business", "service", "start"))
        if not (business and service and start):
            return cleaned
        # The time as typed is the business's wall-clock time, whatever zone the form was
        # parsed in (a new booking's page cannot know the business before it is chosen).
        start = timezone.make_aware(timezone.localtime(start).replace(tzinfo=None), business.tz)
        cleaned["start"] = self.instance.start = start
        if service.business_id != business.pk:
            self.add_error("service", "This service belongs to another business.")
            return cleaned
        self.instance.end = start + service.duration
        self.instance.buffer_until = buffer_until(service, self.instance.end)
        if (
            self.initial.get("status") == Booking.Status.CANCELLED
            and cleaned.get("status") == Booking.Status.CONFIRMED
        ):
            # Its calendar event (if any) is gone for good, and its slot may be taken.
            self.add_error("status", "A cancelled booking stays cancelled: make a new one.")
        if cleaned.get("status") == Booking.Status.CONFIRMED:
            clash = (
                Booking.objects.confirmed()
                .filter(business=business)
                .overlapping(start, self.instance.buffer_until or self.instance.end)
                .exclude(pk=self.instance.pk)
            )
            if clash.exists():
                self.add_error("start", "This overlaps another confirmed booking.")
        return cleaned


@admin.register(Booking)
class BookingAdmin(BusinessColumnMixin, admin.ModelAdmin):
    form = BookingAdminForm
    # The provider that made it is on the booking's page; Google adds its calendar column.
    list_display = ["customer_name", "service", "business", "local_start", "status_shown"]
    list_filter = [
        "business",
        "status",
        ("start", admin.DateFieldListFilter),
    ]
    search_fields = ["customer_name", "customer_phone"]
    list_select_related = ["business", "service"]
    readonly_fields = [
        "end",
        "confirmed_by_text",
        "provider",
        "source_call_sid",
        "created_at",
        "updated_at",
    ]
    # Providers' apps add what they keep per booking (a column, an inline, an action):
    # see integrations/google_calendar/admin.py.
    actions = ["cancel_selected"]

    local_start = business_time_column("start", "business", "start (business time)")

    @admin.display(description="status", ordering="status")
    def status_shown(self, booking: Booking) -> str:
        """The status, with the customer's "Y" to a text when they sent one."""
        if booking.confirmed_by_text_at and booking.status == Booking.Status.CONFIRMED:
            return format_html(
                '{} <span class="confirmed-by-text" title="Confirmed by text: the customer '
                'answered Y" aria-label="confirmed by text">&#10003;</span>',
                booking.get_status_display(),
            )
        return booking.get_status_display()

    @admin.display(description="confirmed by text")
    def confirmed_by_text(self, booking: Booking) -> str:
        if booking.confirmed_by_text_at is None:
            return "No"
        return "Yes, " + local_time(booking.confirmed_by_text_at, booking.business.tz)

    class Media:
        # Admin's "You are N hours ahead of server time" compares the browser's zone with the
        # page's; times here are the business's own (labelled), so the note only misleads.
        css = {"all": ["bookings/admin_booking.css"]}

    @admin.action(description="Cancel selected bookings")
    def cancel_selected(self, request, queryset):
        count = 0
        for booking in queryset.filter(status=Booking.Status.CONFIRMED):
            cancel_booking(booking=booking)
            count += 1
        self.message_user(request, f"Cancelled {count} booking(s).", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        previous = form.initial.get("status") if change else None
        details = {"service", "customer_name", "customer_phone", "start"}
        save_staff_booking(
            booking=obj,
            previous_status=previous,
            changed=bool(details & set(form.changed_data)),
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Show and parse the times in the business's own zone, as staff think of them.
        booking = self.get_object(request, object_id) if object_id else None
        if booking is None:
            extra_context = {
                **(extra_context or {}),
                "subtitle": "Times in the business's own time zone",
            }
            return super().changeform_view(request, object_id, form_url, extra_context)
        with timezone.override(booking.business.tz):
            extra_context = {
                **(extra_context or {}),
                "subtitle": f"Times in {booking.business.timezone} ({booking.business})",
            }
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()
            return response


# -- Outbox ---------------------------------------------------------------------------------


class HasErrorFilter(admin.SimpleListFilter):
    title = "last error"
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return [("yes", "Has an error"), ("no", "No error")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "no":
            return queryset.filter(last_error="")
        return queryset


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    """Work queued after bookings (texts, calendar events). Read-only: the runners own these
    rows; staff can only see what failed and ask for another attempt now."""

    list_display = [
        "kind",
        "dedupe_key",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_utc",
        "short_error",
        "updated_utc",
    ]
    list_filter = [
        "status",
        "kind",
        "attempts",
        ("next_attempt_at", admin.DateFieldListFilter),
        HasErrorFilter,
    ]
    search_fields = ["dedupe_key", "last_error"]
    readonly_fields = [
        "kind",
        "payload",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_error",
        "dedupe_key",
        "created_at",
        "updated_at",
    ]
    actions = ["retry_selected_now"]

    next_attempt_utc = utc_column("next_attempt_at", "next attempt")
    updated_utc = utc_column("updated_at", "updated")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="last error")
    def short_error(self, task: OutboxTask) -> str:
        return task.last_error[:80] + ("..." if len(task.last_error) > 80 else "")

    def has_retry_permission(self, request) -> bool:
        # The form is read-only for everyone; asking for a retry is a change all the same.
        return request.user.has_perm("bookings.change_outboxtask")

    @admin.action(description="Retry selected tasks now", permissions=["retry"])
    def retry_selected_now(self, request, queryset):
        ids = retry_now(queryset)
        skipped = queryset.count() - len(ids)
        message = f"Queued {len(ids)} task(s) to run now."
        if skipped:
            message += f" {skipped} already done or running were left alone."
        self.message_user(request, message, messages.SUCCESS)
