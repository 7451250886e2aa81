"""The one registry of dialogue engines: key -> engine class (like bookings' providers)."""

from __future__ import annotations

import logging

from calls.dialogue.base import DialogueEngine

logger = logging.getLogger(__name__)

DEFAULT_ENGINE = "embedded"
ENGINES: dict[str, type[DialogueEngine]] = {}


def register(engine_class: type[DialogueEngine]) -> type[DialogueEngine]:
    ENGINES[engine_class.name] = engine_class
    return engine_class


def engine_choices() -> list[tuple[str, str]]:
    return [(key, cls.label) for key, cls in ENGINES.items()]


def engine_class(key: str | None) -> type[DialogueEngine]:
    """The class for a key; unknown keys fall back to the default engine, loudly."""
    if key and key in ENGINES:
        return ENGINES[key]
    if key:
        logger.error("Unknown dialogue engine %r: using %r instead.", key, DEFAULT_ENGINE)
    return ENGINES[DEFAULT_ENGINE]
