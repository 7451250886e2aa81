"""The settings the test suite runs with (pytest.ini): the real settings module, in
development mode.

DEBUG must be asked for (unset means off, and off refuses the development secrets), and it
has to be in the environment before receptionist.settings is imported, which pytest-django
does before any conftest runs. Being in os.environ, it also reaches the servers tests spawn;
those still say DEBUG (and, when off, every secret) explicitly. Tests of production behaviour
run the settings module in a subprocess with a controlled environment
(receptionist/tests/test_settings_fail_closed.py).
"""

import os

os.environ["DEBUG"] = "true"

from receptionist.settings import *  # noqa: F403

# Known leak, left for the next session: some async tests (the simulator socket's, the chain
# provider's) leave one pooled Postgres connection checked out each, so over a whole run the
# default pool of 20 runs dry and later tests time out waiting for a connection. A larger
# pool for the suite only keeps the run honest about everything else; production keeps 20.
if DATABASES["default"].get("OPTIONS", {}).get("pool"):  # noqa: F405
    DATABASES["default"]["OPTIONS"]["pool"] = {  # noqa: F405
        **DATABASES["default"]["OPTIONS"]["pool"],  # noqa: F405
        "max_size": 70,
    }
