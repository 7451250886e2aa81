"""How a simulated call presents itself to the session and in admin."""

import uuid

# The fictional 555-01xx range: never a real person's phone.
DEFAULT_CALLER = "+15555550123"
# "SIM" keeps simulated calls (and the bookings made on them) apart from Twilio's "CA..." SIDs.
SIMULATED_SID_PREFIX = "SIM"


def new_call_sid() -> str:
    return SIMULATED_SID_PREFIX + uuid.uuid4().hex
