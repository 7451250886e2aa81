"""ASGI entry point: HTTP to Django, WebSockets to the Channels consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receptionist.settings")
django_asgi_app = get_asgi_application()

from receptionist.routing import application  # noqa: E402  (needs the app registry ready)

__all__ = ["application", "django_asgi_app"]
