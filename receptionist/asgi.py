"""ASGI entry point: HTTP to Django, WebSockets to the Channels consumers."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

from bookings import outbox  # noqa: E402
from receptionist.routing import application  # noqa: E402  (needs the app registry ready)

if settings.OUTBOX_RUN_IN_PROCESS:
    # Asked for: this web process runs outbox tasks (texts, calendar events) too.
    outbox.start_in_process()

# What is loaded by now lives as long as the process: keep it out of the collector's full
# passes, each of which otherwise walks all of it while every call waits (~100 ms, measured
# by bench/bench_call_loop.py at 200 calls).
gc.freeze()

__all__ = ["application", "django_asgi_app"]
