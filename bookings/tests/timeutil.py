"""Future local times for tests that go through timezone.now()."""

from datetime import date, datetime, time, timedelta

from bookings.models import Business


def upcoming(business: Business, weekday: int, *, at_least_days: int = 2) -> date:
    """The first `weekday` (Monday=0) at least `at_least_days` after the business's today."""
    day = business.local_today() + timedelta(days=at_least_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def local(business: Business, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=business.tz)
