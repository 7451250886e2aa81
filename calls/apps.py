from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"

    def ready(self) -> None:
        from calls.dialogue.embedded import EmbeddedEngine
        from calls.dialogue.llm.engine import LLMEngine
        from calls.dialogue.registry import register

        register(EmbeddedEngine)
        register(LLMEngine)
        import calls.sms.staff
        import calls.sms.tasks  # noqa: F401  (SMS outbox tasks and the reminder job)
        from bookings.signals import booking_made
        from calls.confirmations import record_booking_made_on_call

        booking_made.connect(record_booking_made_on_call, dispatch_uid="calls.booking_made")
