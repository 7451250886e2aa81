from django.apps import AppConfig


class GoogleCalendarConfig(AppConfig):
    name = "integrations.google_calendar"
    label = "google_calendar"
    verbose_name = "Google Calendar"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The provider registers itself in the bookings registry; bookings never imports us.
        from bookings.providers.registry import register
        from integrations.google_calendar.provider import GoogleCalendarProvider

        register(GoogleCalendarProvider)
