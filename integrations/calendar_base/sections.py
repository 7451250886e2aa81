"""The calendar sections of a business's admin page: one per integration (Google, Outlook,
...), each registered from its admin module. bookings knows nothing about them; this app
sets BusinessAdmin's change form to one that renders every registered section."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from bookings.models import Business

# Renders a section's HTML for a staff member looking at a business.
Section = Callable[[HttpRequest, Business], str]
SECTIONS: list[Section] = []


def register_section(section: Section) -> Section:
    if section not in SECTIONS:
        SECTIONS.append(section)
    return section


def render_sections(request: HttpRequest, business: Business) -> str:
    return "".join(section(request, business) for section in SECTIONS)
