"""ASGI entry point: HTTP to Django, WebSockets to the Channels consumers."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")

from receptionist.http_app import http_application

django_asgi_app = http_application()

from django.conf import settings  # noqa: E402

from bookings import outbox  # noqa: E402
from receptionist import request_limits  # noqa: E402
from receptionist.routing import application as routed  # noqa: E402  (needs the app registry)

# Bodies over HTTP_MAX_BODY_BYTES, or slower than HTTP_BODY_TIMEOUT_SECONDS, are refused
# before they are buffered: in Daphne's own request handling (it buffers a whole body before
# calling any ASGI app) and, for servers that stream bodies, around the app.
request_limits.install_in_daphne()
application = request_limits.BodyLimitMiddleware(routed)

if settings.OUTBOX_RUN_IN_PROCESS:
    # Asked for: this web process runs outbox tasks (texts, calendar events) too.
    outbox.start_in_process()

# What is loaded by now lives as long as the process: keep it out of the collector's full
# passes, each of which otherwise walks all of it while every call waits (~100 ms, measured
# by bench/bench_call_loop.py at 200 calls).
gc.freeze()

__all__ = ["application", "django_asgi_app"]
