from django import template
from django.utils.safestring import mark_safe

from integrations.calendar_base.sections import render_sections

register = template.Library()


@register.simple_tag(takes_context=True)
def calendar_sections(context, business) -> str:
    # Each section renders its own template (autoescaped there).
    return mark_safe(render_sections(context["request"], business))  # noqa: S308
