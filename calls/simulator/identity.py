"""How a simulated call presents itself to the session and in admin."""

import uuid

# The fictional 555-01xx range: never a real person's phone.
DEFAULT_CALLER = "+15555550123"


def new_call_sid() -> str:
    # "SIM" keeps simulated calls apart from Twilio's "CA..." SIDs in admin and logs.
    return "SIM" + uuid.uuid4().hex
