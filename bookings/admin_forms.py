"""Admin forms: provider options as real form fields, validated for the chosen provider."""

from __future__ import annotations

import copy

from django import forms

from bookings.models import Business
from bookings.providers.registry import (
    DEFAULT_PROVIDER,
    PROVIDERS,
    provider_choices,
    provider_class,
)

OPTION_PREFIX = "option_"


def option_field_names(provider_key: str) -> list[str]:
    cls = PROVIDERS.get(provider_key) or PROVIDERS[DEFAULT_PROVIDER]
    return [OPTION_PREFIX + name for name in cls.options_form.base_fields]


class BusinessAdminForm(forms.ModelForm):
    """Adds the chosen provider's options (its `options_form`) as `option_*` fields."""

    # Declared so the choices are read from the registry when the form is shown: providers
    # register from their apps' ready(), after this module may have been imported.
    booking_provider = forms.ChoiceField(choices=provider_choices, label="Booking provider")

    class Meta:
        model = Business
        fields = [
            "name",
            "slug",
            "is_active",
            "greeting",
            "address",
            "about",
            "currency",
            "phone_number",
            "transfer_number",
            "notification_emails",
            "staff_sms_number",
            "timezone",
            "min_notice_minutes",
            "horizon_days",
            "reminder_hours",
            "booking_provider",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider_cls = provider_class(self._chosen_provider_key())
        stored = self.provider_cls.options_with_defaults(self.instance.provider_options or {})
        for name, field in self.provider_cls.options_form.base_fields.items():
            option_field = copy.deepcopy(field)
            option_field.initial = stored.get(name)
            self.fields[OPTION_PREFIX + name] = option_field

    def _provider_switched(self) -> bool:
        shown = self.instance.booking_provider or DEFAULT_PROVIDER
        return self.is_bound and self.provider_cls.name != provider_class(shown).name

    def _chosen_provider_key(self) -> str:
        if self.is_bound:
            posted = self.data.get(self.add_prefix("booking_provider"))
            if posted in PROVIDERS:
                return posted
        return self.instance.booking_provider or DEFAULT_PROVIDER

    def clean(self) -> dict:
        cleaned = super().clean()
        if self._provider_switched():
            # The page showed the previous provider's options, not these: an unticked
            # checkbox that was never on the page must not switch a feature off. Keep what
            # is stored, with the new provider's defaults; staff adjust them after saving.
            data = dict(self.instance.provider_options or {})
        else:
            data = {
                name: cleaned.get(OPTION_PREFIX + name)
                for name in self.provider_cls.options_form.base_fields
            }
        options_form = self.provider_cls.options_form(
            data=self.provider_cls.options_with_defaults(data)
        )
        if options_form.is_valid():
            self.instance.provider_options = options_form.cleaned_data
        else:
            for name, errors in options_form.errors.items():
                self.add_error(OPTION_PREFIX + name if name in data else None, errors)
        return cleaned
