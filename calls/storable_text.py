"""Text from outside made storable: what a database column and a UTF-8 log line can hold.

JSON may carry escapes that decode to lone surrogates ("\\ud800"), which no UTF-8 encoder
accepts, and NUL characters, which Postgres text columns refuse. Either would fail the write
of a transcript turn, so they are replaced where text enters, never carried further.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    if text.isascii():
        return text.replace("\x00", "")
    return _SURROGATES.sub(REPLACEMENT, text).replace("\x00", "")


def storable_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """The frame with its top-level string fields made storable (the ones we read)."""
    return {
        key: storable(value) if isinstance(value, str) else value for key, value in frame.items()
    }
