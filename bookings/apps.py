from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        from bookings.models import Business
        from bookings.providers.chain import ChainProvider
        from bookings.providers.native import NativeBookingProvider
        from bookings.providers.registry import provider_choices, register

        # The field's choices are the registry's callable (what migration 0001 records), so
        # providers registered by other apps' ready() appear without a migration.
        Business._meta.get_field("booking_provider").choices = provider_choices
        register(NativeBookingProvider)
        register(ChainProvider)
        import bookings.notifications
        import bookings.tasks  # noqa: F401  (both register outbox task kinds)
