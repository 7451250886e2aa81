"""`manage.py seed_demo`: the Demo Salon, idempotently (safe to run on every start)."""

from datetime import time

from django.core.management.base import BaseCommand
from django.db import transaction

from bookings.models import Business, OpeningHours, Service, Weekday

DEMO = {
    "slug": "demo",
    "name": "Demo Salon",
    "timezone": "America/New_York",
    "phone_number": "+15555550100",
    "min_notice_minutes": 60,
    "horizon_days": 60,
    "booking_provider": "native",
}
HOURS = [(day, time(9), time(18)) for day in range(Weekday.MONDAY, Weekday.SATURDAY)] + [
    (Weekday.SATURDAY, time(10), time(16))
]
SERVICES = [
    ("Haircut", 30, "hair cut, cut, trim up"),
    ("Beard trim", 15, "trim, beard, shave"),
    ("Hair colouring", 90, "colour, color, dye, highlights, tint"),
    ("Manicure", 45, "mani, nails, nail"),
]


class Command(BaseCommand):
    help = "Create or update the demo business (slug 'demo'). Idempotent."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        fields = {k: v for k, v in DEMO.items() if k != "slug"}
        business, created = Business.objects.get_or_create(slug=DEMO["slug"], defaults=fields)
        if not business.opening_hours.exists():
            OpeningHours.objects.bulk_create(
                OpeningHours(business=business, weekday=day, opens=opens, closes=closes)
                for day, opens, closes in HOURS
            )
        for name, minutes, synonyms in SERVICES:
            Service.objects.get_or_create(
                business=business,
                name=name,
                defaults={"duration_minutes": minutes, "synonyms": synonyms},
            )
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} demo business '{business.name}' ({business.slug}).")
