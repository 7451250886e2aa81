"""Who may talk to a business's receptionist from the simulator, and as whom."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from bookings.models import Booking, Business
from bookings.phones import to_e164
from calls.simulator.identity import SIMULATED_SID_PREFIX

# A simulated call does what a caller can: see the business (services, hours), book, and
# move or cancel bookings. Staff who may not do those in admin may not do them here either.
REQUIRED_PERMISSIONS = ("bookings.view_business", "bookings.add_booking", "bookings.change_booking")


def may_simulate(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.has_perms(REQUIRED_PERMISSIONS)


def real_bookings_of(*, slug: str, caller: str) -> int:
    """How many upcoming bookings a real customer with this number has at the business (not
    made on a simulated call): what a simulated caller using the number could move, cancel,
    or have texted about."""
    business = Business.objects.filter(slug=slug).first()
    number = to_e164(caller) if caller else None
    if business is None or not number:
        return 0
    return (
        Booking.objects.confirmed()
        .filter(business=business, customer_phone=number, start__gt=timezone.now())
        .exclude(source_call_sid__startswith=SIMULATED_SID_PREFIX)
        .count()
    )
