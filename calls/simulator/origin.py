"""The simulator socket's Origin check: the page's own origin, compared exactly.

Channels' AllowedHostsOriginValidator compares host names only, so a page on any port or
scheme of an allowed host (`https://127.0.0.1:9`) could open the socket with a staff member's
cookies. Here the Origin must equal, in scheme, host and port, one of: the public origin
(PUBLIC_BASE_URL), CSRF_TRUSTED_ORIGINS, or the origin the socket itself was requested on
(same-origin, for a host in ALLOWED_HOSTS).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin or URL, the port made explicit; None if malformed."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def allowed_origins(scope: dict[str, Any]) -> set[Origin]:
    configured = [settings.PUBLIC_BASE_URL, *getattr(settings, "CSRF_TRUSTED_ORIGINS", [])]
    allowed = {origin for value in configured if (origin := parse_origin(value))}
    host = _header(scope, b"host")
    if host and validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        if same_origin := parse_origin(f"{scheme}://{host}"):
            allowed.add(same_origin)
    return allowed


class ExactOriginValidator:
    """ASGI middleware: refuse (HTTP 403) a handshake whose Origin is not ours exactly."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = parse_origin(_header(scope, b"origin") or "")
        if origin is not None and origin in allowed_origins(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
