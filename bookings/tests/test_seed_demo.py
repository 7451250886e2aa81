import pytest
from django.core.management import call_command

from bookings.models import Business

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo")
    demo = Business.objects.get(slug="demo")
    assert (demo.name, demo.timezone, demo.phone_number) == (
        "Demo Salon",
        "America/New_York",
        "+15555550100",
    )
    assert (demo.booking_provider, demo.min_notice_minutes, demo.horizon_days) == ("native", 60, 60)
    hours = {(h.weekday, f"{h.opens:%H:%M}-{h.closes:%H:%M}") for h in demo.opening_hours.all()}
    assert hours == {(d, "09:00-18:00") for d in range(5)} | {(5, "10:00-16:00")}
    services = {s.name: s.duration_minutes for s in demo.services.all()}
    assert services == {"Haircut": 30, "Beard trim": 15, "Hair colouring": 90, "Manicure": 45}
    assert Business.objects.count() == 1
