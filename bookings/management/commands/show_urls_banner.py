"""Printed by `make run` before Daphne starts: the URLs that matter."""

from django.conf import settings
from django.core.management.base import BaseCommand

from bookings.models import Business


class Command(BaseCommand):
    help = "Print the local URLs of the start page, admin, the simulator and the webhooks."

    def handle(self, *args, **options) -> None:
        base = "http://127.0.0.1:8000"
        lines = [
            "",
            "Receptionist is starting on http://127.0.0.1:8000",
            f"  Start page:         {base}/  (links and health)",
            f"  Admin:              {base}/admin/",
            f"  Try a call:         {base}/simulator/",
            f"  Health check:       {base}/healthz",
        ]
        for business in Business.objects.filter(is_active=True):
            lines.append(
                f"  {business.name}: voice webhook {settings.PUBLIC_BASE_URL}"
                f"/voice/incoming/{business.slug}/, messaging webhook "
                f"{settings.PUBLIC_BASE_URL}/sms/incoming/{business.slug}/"
            )
        lines.append("Press Ctrl+C to stop.\n")
        self.stdout.write("\n".join(lines))
