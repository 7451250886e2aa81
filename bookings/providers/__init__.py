"""Booking providers: the protocol (base.py), the registry and the native provider."""
