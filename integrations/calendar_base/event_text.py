"""What every calendar gets for a booking, and busy spans as every calendar reports them."""

from __future__ import annotations

from datetime import datetime

from bookings.slots import Interval


def event_title(booking) -> str:
    return f"{booking.service.name} - {booking.customer_name}"


def event_description(booking) -> str:
    """What staff need to see on the event."""
    return "\n".join(
        [
            f"Service: {booking.service.name}",
            f"Customer: {booking.customer_name}",
            f"Phone: {booking.customer_phone}",
            f"Booked with the {booking.business.name} receptionist.",
        ]
    )


def merge_busy(spans: list[Interval]) -> list[Interval]:
    """Busy spans sorted, with overlapping and touching ones joined and empty ones dropped."""
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]
