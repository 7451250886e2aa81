"""Recount the dashboard's daily rollup from the calls: every business, or those named."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from bookings.models import Business
from calls.call_days import rebuild


class Command(BaseCommand):
    help = "Recount every day of the dashboard's call rollup from the calls themselves."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slugs", nargs="*", help="Businesses (slug); all when none given.")

    def handle(self, *args, slugs: list[str], **options) -> None:
        businesses = Business.objects.all()
        if slugs:
            businesses = businesses.filter(slug__in=slugs)
            unknown = set(slugs) - set(businesses.values_list("slug", flat=True))
            if unknown:
                raise CommandError(f"No business with slug: {', '.join(sorted(unknown))}")
        started = time.perf_counter()
        days = rebuild(businesses)
        self.stdout.write(f"Recounted {days} days in {time.perf_counter() - started:.1f} s.")
