from django.apps import AppConfig


class CalendarBaseConfig(AppConfig):
    """What every outside-calendar integration shares (Google, Outlook, ...): the abstract
    connection and event-sync models, the connection store, the outbox event sync, the
    calendar-source provider and the business page's calendar sections. No tables of its own."""

    name = "integrations.calendar_base"
    label = "calendar_base"
    verbose_name = "Calendars"
