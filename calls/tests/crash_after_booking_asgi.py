"""The product's ASGI app, killed with SIGKILL the moment a booking commits: the harshest
crash a call can meet between making a booking and everything that follows it."""

import os
import signal

from django.db import transaction
from django.db.models.signals import post_save

from receptionist.asgi import application


def _die_once_committed(sender, instance, created, **kwargs) -> None:
    if created:
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))


# A lazy sender: models can't be imported before the ASGI module has set Django up.
post_save.connect(_die_once_committed, sender="bookings.Booking", dispatch_uid="crash")

__all__ = ["application"]
