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
