"""The one registry of booking providers: key -> provider class.

Providers register themselves from their app's AppConfig.ready() (the native one from
bookings, Google's from integrations), so bookings never imports the integrations.
`Business.booking_provider` takes its choices from here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bookings.models import Business
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


def resolve_provider(business: Business) -> BookingProvider:
    """The business's provider, ready to use. A call never fails because of configuration."""
    cls = provider_class(business.booking_provider)
    return cls(business, options=cls.clean_options(business.provider_options))
