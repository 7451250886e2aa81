from django.apps import AppConfig


class CalendlyConfig(AppConfig):
    name = "integrations.calendly"
    label = "calendly"
    verbose_name = "Calendly"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The provider registers itself in the bookings registry; bookings never imports us.
        from bookings.providers.registry import register
        from integrations.calendly.provider import CalendlyProvider

        register(CalendlyProvider)
