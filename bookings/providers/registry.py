"""The one registry of booking providers: key -> provider class.

Providers register themselves from their app's AppConfig.ready() (the native one from
bookings, Google's from integrations), so bookings never imports the integrations.
`Business.booking_provider` takes its choices from here (attached in BookingsConfig.ready()).
"""

from __future__ import annotations

import logging

from bookings.models import Booking, Business
from bookings.providers.base import BookingProvider

logger = logging.getLogger(__name__)

DEFAULT_PROVIDER = "native"
PROVIDERS: dict[str, type[BookingProvider]] = {}


def register(provider_class: type[BookingProvider]) -> type[BookingProvider]:
    PROVIDERS[provider_class.name] = provider_class
    return provider_class


def provider_choices() -> list[tuple[str, str]]:
    return [(key, cls.label) for key, cls in PROVIDERS.items()]


def provider_class(key: str) -> type[BookingProvider]:
    """The class for a key; an unknown key falls back to the native provider, loudly."""
    try:
        return PROVIDERS[key]
    except KeyError:
        logger.error("Unknown booking provider %r: using %r instead.", key, DEFAULT_PROVIDER)
        return PROVIDERS[DEFAULT_PROVIDER]


def provider_named(key: str, business: Business) -> BookingProvider:
    """Provider `key` for the business, with the business's options."""
    cls = provider_class(key)
    return cls(business, options=cls.clean_options(business.provider_options))


def resolve_provider(business: Business) -> BookingProvider:
    """The business's provider, ready to use. A call never fails because of configuration."""
    return provider_named(business.booking_provider, business)


def provider_that_made(booking: Booking) -> BookingProvider:
    """The provider that made the booking owns its follow-ups, whatever the business uses
    today (ops may switch a business to the native provider while a calendar is down)."""
    return provider_named(booking.provider, booking.business)
