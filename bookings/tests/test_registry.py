import logging

from bookings.models import Business
from bookings.providers.native import NativeBookingProvider
from bookings.providers.registry import PROVIDERS, provider_choices, resolve_provider


def test_native_is_registered_and_offered_as_a_choice():
    assert PROVIDERS["native"] is NativeBookingProvider
    assert ("native", NativeBookingProvider.label) in provider_choices()
    assert Business._meta.get_field("booking_provider").choices == provider_choices()


def test_resolve_returns_an_instance_ignoring_retired_options():
    business = Business(
        booking_provider="native", provider_options={"default_duration_minutes": 45}
    )
    provider = resolve_provider(business)
    assert isinstance(provider, NativeBookingProvider)
    assert provider.business is business
    assert provider.options == {}


def test_unknown_key_falls_back_to_native_and_logs_an_error(caplog):
    business = Business(booking_provider="retired_crm")
    with caplog.at_level(logging.ERROR, logger="bookings.providers.registry"):
        provider = resolve_provider(business)
    assert isinstance(provider, NativeBookingProvider)
    assert "retired_crm" in caplog.text
