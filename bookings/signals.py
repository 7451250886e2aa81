"""Signals other apps listen to, so that `bookings` never imports them."""

from django.dispatch import Signal

# Sent by bookings.services.book_slot inside the booking's own transaction, with `booking`
# (new and confirmed) and `replaces` (the booking a move cancelled, else None). A receiver's
# writes commit or roll back with the booking: what must never be missing after a crash (the
# call's link to it, the customer's text) is written here, not after the commit. A receiver
# that raises undoes the booking.
booking_made = Signal()
