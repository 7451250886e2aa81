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
    "address": "12 Main Street, Springfield, next to the bakery",
    "about": "Demo Salon is a friendly neighbourhood salon for cuts, colour, beards and nails.",
}
HOURS = [(day, time(9), time(18)) for day in range(Weekday.MONDAY, Weekday.SATURDAY)] + [
    (Weekday.SATURDAY, time(10), time(16))
]
# name, minutes, other names, price (or range; None: "the salon will confirm the price")
SERVICES = [
    ("Haircut", 30, "hair cut, cut, trim up", (35, None)),
    ("Beard trim", 15, "trim, beard, shave", (15, None)),
    ("Hair colouring", 90, "colour, color, dye, highlights, tint", (80, 150)),
    ("Manicure", 45, "mani, nails, nail", (None, None)),
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
        for name, minutes, synonyms, (price_from, price_to) in SERVICES:
            Service.objects.get_or_create(
                business=business,
                name=name,
                defaults={
                    "duration_minutes": minutes,
                    "synonyms": synonyms,
                    "price_from": price_from,
                    "price_to": price_to,
                },
            )
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} demo business '{business.name}' ({business.slug}).")
