"""How a simulated call presents itself to the session and in admin."""

import secrets
import uuid


def fresh_test_number() -> str:
    """A caller ID of its own for each trial, so one trial's bookings are never "your
    appointment" in the next. Always fictional: any area code with 555-0100..0199, the range
    North America keeps for fiction (about 80,000 numbers)."""
    area = 200 + secrets.randbelow(800)
    return f"+1{area}55501{secrets.randbelow(100):02d}"


# "SIM" keeps simulated calls (and the bookings made on them) apart from Twilio's "CA..." SIDs.
SIMULATED_SID_PREFIX = "SIM"


def new_call_sid() -> str:
    return SIMULATED_SID_PREFIX + uuid.uuid4().hex
