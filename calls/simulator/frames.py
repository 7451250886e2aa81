"""The simulator socket's browser -> server frames, checked before anything acts on them."""

from __future__ import annotations

import json

from calls.storable_text import storable

MAX_FRAME_CHARS = 4000
MAX_SAY_CHARS = 1000
MAX_CALLER_CHARS = 32


class FrameError(ValueError):
    """A frame we cannot act on; its message is shown to the staff member."""


def parse_frame(text_data: str | None) -> dict:
    """Validate one browser frame; returns {"type", ...} with only the fields we use."""
    if text_data is None:
        raise FrameError("Frames are JSON text, not binary.")
    if len(text_data) > MAX_FRAME_CHARS:
        raise FrameError("Frame too long.")
    try:
        frame = json.loads(text_data)
    except json.JSONDecodeError:
        raise FrameError("Frames must be JSON objects.") from None
    if not isinstance(frame, dict):
        raise FrameError("Frames must be JSON objects.")
    kind = frame.get("type")
    if kind == "start":
        caller = frame.get("caller", "")
        if not isinstance(caller, str) or len(caller) > MAX_CALLER_CHARS:
            raise FrameError("'caller' must be a phone number.")
        as_customer = frame.get("as_customer", False)
        if not isinstance(as_customer, bool):
            raise FrameError("'as_customer' must be true or false.")
        return {"type": "start", "caller": storable(caller.strip()), "as_customer": as_customer}
    if kind == "say":
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("'say' needs some text.")
        if len(text) > MAX_SAY_CHARS:
            raise FrameError(f"Say at most {MAX_SAY_CHARS} characters at a time.")
        return {"type": "say", "text": storable(text.strip())}
    if kind == "hangup":
        return {"type": "hangup"}
    raise FrameError("Unknown frame type; expected start, say or hangup.")
