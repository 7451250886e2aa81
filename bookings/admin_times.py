"""Times in admin as staff think of them: in the business's own zone, with the zone named."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.utils.html import format_html

DATE_TIME = "%a %Y-%m-%d %H:%M"


def local_time(moment: datetime | None, tz: ZoneInfo, fmt: str = DATE_TIME) -> str:
    """'Tue 2026-12-01 10:00 EST', or '-' for no time."""
    if moment is None:
        return "-"
    local = moment.astimezone(tz)
    return f"{local.strftime(fmt)} {local.tzname()}"


def business_time_column(field: str, business: str, description: str = "") -> Callable:
    """An admin column/readonly field showing `field` in the zone of the business reached
    by the dotted path `business` (e.g. "booking.business")."""
    business_of = operator.attrgetter(business)

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(self, obj) -> str:
        # A time broken over three lines is hard to scan: one line where the list has room,
        # else the date above the time ("Sat 2026-11-28" / "09:00 EST"), never mid-date.
        moment = getattr(obj, field)
        if moment is None:
            return "-"
        tz = business_of(obj).tz
        return format_html(
            '<span class="nowrap">{}</span> <span class="nowrap">{}</span>',
            local_time(moment, tz, "%a %Y-%m-%d").rsplit(" ", 1)[0],
            local_time(moment, tz, "%H:%M"),
        )

    column.__name__ = f"{field}_local"
    return column


def utc_column(field: str, description: str = "") -> Callable:
    """For rows that belong to no one business (the outbox): UTC, and saying so."""

    @admin.display(description=f"{description or field.replace('_', ' ')} (UTC)", ordering=field)
    def column(self, obj) -> str:
        return local_time(getattr(obj, field), ZoneInfo("UTC"))

    column.__name__ = f"{field}_utc"
    return column
