from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        from bookings.providers.chain import ChainProvider
        from bookings.providers.native import NativeBookingProvider
        from bookings.providers.registry import register

        register(NativeBookingProvider)
        register(ChainProvider)
        import bookings.notifications
        import bookings.tasks  # noqa: F401  (both register outbox task kinds)
