"""Who may talk to a business's receptionist from the simulator."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# Seeing a business in admin is the least a simulated call reveals (its services, its hours).
REQUIRED_PERMISSION = "bookings.view_business"


def may_simulate(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.has_perm(REQUIRED_PERMISSION)
