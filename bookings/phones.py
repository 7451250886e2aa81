"""Phone numbers as the product stores them: E.164 strings."""

import phonenumbers
from django.core.exceptions import ValidationError


def to_e164(raw: str, *, region: str = "US") -> str | None:
    """The E.164 form of a number as typed or spoken, or None when it cannot be a number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model validator: only numbers already in E.164 (+15555550100) are stored."""
    if not value:
        return
    if to_e164(value) != value:
        raise ValidationError(
            "Enter the number in international E.164 form, e.g. +15555550100.",
            code="invalid_e164",
        )
