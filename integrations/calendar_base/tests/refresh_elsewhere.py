"""A token refresh in another process, as a second Daphne or an outbox worker would make it:
the child starts Django on the test database, loads the connection and makes one API call
with an expired token. Imported by multiprocessing before Django is set up, so Django and the
integrations are imported inside the function."""

from __future__ import annotations

import os


def call_with_expired_token(
    integration: str, connection_id: int, database: str, overrides: dict, start_together, results
) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.pytest_settings")
    import django
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = database
    django.setup()
    for name, value in overrides.items():
        setattr(settings, name, value)
    from datetime import timedelta

    from django.db import connection as db_connection
    from django.utils import timezone

    start = timezone.now() + timedelta(days=1)
    end = start + timedelta(hours=1)
    if integration == "google":
        from integrations.google_calendar.client import CalendarClient
        from integrations.google_calendar.models import GoogleCalendarConnection

        row = GoogleCalendarConnection.objects.get(pk=connection_id)
        call = lambda: CalendarClient(row).free_busy(["primary"], start, end)  # noqa: E731
    elif integration == "microsoft":
        from integrations.microsoft_calendar.client import GraphClient
        from integrations.microsoft_calendar.models import OutlookCalendarConnection

        row = OutlookCalendarConnection.objects.get(pk=connection_id)
        call = lambda: GraphClient(row).get_schedule(start, end)  # noqa: E731
    else:
        from integrations.calendly.client import CalendlyClient
        from integrations.calendly.models import CalendlyConnection

        row = CalendlyConnection.objects.get(pk=connection_id)
        call = lambda: CalendlyClient(row).current_user()  # noqa: E731
    try:
        start_together.wait(timeout=60)
        call()
        results.put("ok")
    except Exception as exc:  # reported to the test, which asserts on it
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        db_connection.close()
