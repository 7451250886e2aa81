"""Signals other apps listen to (so that `bookings` never imports them), and what must happen
when staff change what callers can book (connected in BookingsConfig)."""

from __future__ import annotations

import uuid

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from bookings import schedules
from bookings.models import Business, DateException, OpeningHours, Service, ServiceHours


def changed(business_id: int) -> None:
    """The business's hours, special days or services changed: every process's copy of its
    schedule is out of date (bookings.schedules)."""
    Business.objects.filter(pk=business_id).update(schedule_version=uuid.uuid4())
    schedules.forget(business_id)


def _schedule_changed(sender, instance, **kwargs) -> None:
    changed(instance.business_id)


def _service_hours_changed(sender, instance, **kwargs) -> None:
    business_id = (
        Service.objects.filter(pk=instance.service_id).values_list("business_id", flat=True).first()
    )
    if business_id is not None:  # else its service is gone, and said so itself
        changed(business_id)


def _business_changed(sender, instance, **kwargs) -> None:
    schedules.forget(instance.pk)


def connect() -> None:
    for model in (OpeningHours, DateException, Service):
        uid = f"schedule-changed-{model._meta.label}"
        post_save.connect(_schedule_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_schedule_changed, sender=model, dispatch_uid=uid)
    post_save.connect(_service_hours_changed, sender=ServiceHours, dispatch_uid="service-hours")
    post_delete.connect(_service_hours_changed, sender=ServiceHours, dispatch_uid="service-hours")
    post_save.connect(_business_changed, sender=Business, dispatch_uid="business-changed")
    post_delete.connect(_business_changed, sender=Business, dispatch_uid="business-changed")


# Sent by bookings.services.book_slot inside the booking's own transaction, with `booking`
# (new and confirmed) and `replaces` (the booking a move cancelled, else None). A receiver's
# writes commit or roll back with the booking: what must never be missing after a crash (the
# call's link to it, the customer's text) is written here, not after the commit. A receiver
# returns the outbox tasks it wants queued (`bookings.outbox.outbox_task`s, or None):
# book_slot writes them all in one statement. A receiver that raises undoes the booking.
booking_made = Signal()
