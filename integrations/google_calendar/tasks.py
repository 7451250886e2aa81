"""Outbox tasks: create and delete calendar events for bookings."""
