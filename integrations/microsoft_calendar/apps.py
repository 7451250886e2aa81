from django.apps import AppConfig


class MicrosoftCalendarConfig(AppConfig):
    name = "integrations.microsoft_calendar"
    label = "microsoft_calendar"
    verbose_name = "Outlook Calendar (Microsoft 365)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The provider registers itself in the bookings registry; bookings never imports us.
        from bookings.providers.registry import register
        from integrations.microsoft_calendar.provider import OutlookCalendarProvider

        register(OutlookCalendarProvider)
