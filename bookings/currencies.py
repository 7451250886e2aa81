"""The currencies a business prices its services in: ISO 4217 code -> how it is named in admin
and said on the phone. One registry; the Business.currency field's choices come from it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    unit: str  # "dollar"
    units: str  # "dollars"


CURRENCIES = {
    c.code: c
    for c in (
        Currency("USD", "US dollar", "dollar", "dollars"),
        Currency("CAD", "Canadian dollar", "dollar", "dollars"),
        Currency("AUD", "Australian dollar", "dollar", "dollars"),
        Currency("NZD", "New Zealand dollar", "dollar", "dollars"),
        Currency("GBP", "Pound sterling", "pound", "pounds"),
        Currency("EUR", "Euro", "euro", "euros"),
        Currency("CHF", "Swiss franc", "franc", "francs"),
        Currency("ZAR", "South African rand", "rand", "rand"),
        Currency("INR", "Indian rupee", "rupee", "rupees"),
        Currency("MXN", "Mexican peso", "peso", "pesos"),
    )
}
DEFAULT_CURRENCY = "USD"


def currency_choices() -> list[tuple[str, str]]:
    return [(c.code, f"{c.name} ({c.code})") for c in CURRENCIES.values()]


def say_amount(amount: Decimal, code: str) -> str:
    """How a price is said: "35 dollars", "1 pound", "12 euros 50" (as people say "twelve
    fifty"), never a symbol a voice would read out oddly."""
    currency = CURRENCIES.get(code) or CURRENCIES[DEFAULT_CURRENCY]
    whole, cents = divmod(round(amount * 100), 100)
    unit = currency.unit if whole == 1 and not cents else currency.units
    return f"{whole} {unit}" + (f" {cents:02d}" if cents else "")


def say_range(low: Decimal, high: Decimal, code: str) -> str:
    """ "from 80 to 150 dollars": the unit once, after both whole amounts."""
    if low == int(low) and high == int(high):
        return f"from {int(low)} to {say_amount(high, code)}"
    return f"from {say_amount(low, code)} to {say_amount(high, code)}"
