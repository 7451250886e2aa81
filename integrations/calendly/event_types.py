"""Which Calendly event type each service is booked as, and the phone-booking email: the
form staff fill in after connecting (choices from GET /event_types?user=...)."""

from __future__ import annotations

from django import forms
from django.db import transaction

from bookings.models import Business
from integrations.calendly import connections
from integrations.calendly.client import EventTypeInfo
from integrations.calendly.models import CalendlyConnection, CalendlyEventType

NOT_BOOKED = ""


def account_name(connection: CalendlyConnection) -> str:
    if connection.user_name and connection.account_email:
        return f"{connection.user_name} ({connection.account_email})"
    return connection.account_email or connection.user_name or "the Calendly account"


def _field_name(service_id: int) -> str:
    return f"service_{service_id}"


class MappingForm(forms.Form):
    invitee_email = forms.EmailField(
        label="Email given to Calendly for phone bookings",
        required=False,
        help_text=CalendlyConnection._meta.get_field("invitee_email").help_text,
    )

    def __init__(
        self,
        *args,
        business: Business,
        connection: CalendlyConnection,
        listed: list[EventTypeInfo],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.listed = {e.uri: e for e in listed if e.active}
        current = {
            m.service_id: m.uri
            for m in CalendlyEventType.objects.filter(service__business=business)
        }
        choices = [(NOT_BOOKED, "Not booked by phone")] + [
            (e.uri, f"{e.name} ({e.duration} min)" if e.duration else e.name)
            for e in self.listed.values()
        ]
        self.services = list(business.services.order_by("name"))
        for service in self.services:
            self.fields[_field_name(service.pk)] = forms.ChoiceField(
                label=f"{service.name} ({service.duration_minutes} min)",
                choices=choices,
                required=False,
                initial=current.get(service.pk, NOT_BOOKED),
            )
        self.fields["invitee_email"].initial = connection.invitee_email

    def service_fields(self):
        return [(service, self[_field_name(service.pk)]) for service in self.services]

    def mapping(self) -> dict[int, EventTypeInfo | None]:
        return {
            service.pk: self.listed.get(self.cleaned_data.get(_field_name(service.pk)) or "")
            for service in self.services
        }


@transaction.atomic
def save_mapping(*, business: Business, connection: CalendlyConnection, form: MappingForm) -> None:
    for service_id, event_type in form.mapping().items():
        if event_type is None:
            CalendlyEventType.objects.filter(service_id=service_id).delete()
            continue
        CalendlyEventType.objects.update_or_create(
            service_id=service_id,
            defaults={
                "uri": event_type.uri,
                "name": event_type.name,
                "duration_minutes": event_type.duration,
            },
        )
    connections.save_invitee_email(
        connection=connection, invitee_email=form.cleaned_data["invitee_email"]
    )
