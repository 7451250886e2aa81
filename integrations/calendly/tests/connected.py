"""A business connected to the fake Calendly, as the OAuth callback and the event-type page
would leave it."""

from __future__ import annotations

from bookings.models import Business, Service
from integrations.calendly import connections
from integrations.calendly.models import CalendlyConnection, CalendlyEventType
from integrations.calendly.tests.fake_calendly import FakeCalendly

PHONE_BOOKINGS = "bookings@salon.example.com"


def connect_business(
    business: Business,
    fake: FakeCalendly,
    *,
    expires_in: int = 7200,
    invitee_email: str = PHONE_BOOKINGS,
) -> CalendlyConnection:
    tokens = fake.issue_tokens(expires_in=expires_in)
    connection = connections.save_connected(
        business=business,
        user=None,
        refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=tokens["expires_at"],
        scopes=tokens["scope"].split(),
        user_uri=tokens["owner"],
        organization_uri=tokens["organization"],
    )
    connections.save_user(
        connection=connection, name=fake.user_name, email=fake.user_email, user_uri=fake.user_uri
    )
    connections.save_invitee_email(connection=connection, invitee_email=invitee_email)
    return connection


def map_service(service: Service, fake: FakeCalendly, *, increment: int | None = None) -> str:
    uri = fake.add_event_type(service.name, service.duration_minutes, increment=increment)
    CalendlyEventType.objects.create(
        service=service, uri=uri, name=service.name, duration_minutes=service.duration_minutes
    )
    return uri
