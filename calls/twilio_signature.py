"""Is this request really from Twilio? The one place that checks `X-Twilio-Signature`.

Twilio signs the exact URL it requested. Behind a TLS-terminating proxy Daphne sees
`http://internal-host:8000/...`, so the URL is always rebuilt from PUBLIC_BASE_URL (the address
Twilio was given), never from the request's scheme or Host header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_url(path_with_query: str) -> str:
    """The https URL Twilio uses for one of our HTTP paths (path may carry a query string)."""
    return settings.PUBLIC_BASE_URL + path_with_query


def websocket_url(path: str) -> str:
    """The public ws(s) URL of one of our socket paths: wss behind https, ws for local http.

    The TwiML and the handshake check both build it here, so the URL Twilio signs is the URL
    we verify.
    """
    base = urlsplit(settings.PUBLIC_BASE_URL)
    scheme = "wss" if base.scheme == "https" else "ws"
    return f"{scheme}://{base.netloc}{base.path.rstrip('/')}{path}"


def _validator() -> RequestValidator:
    return RequestValidator(settings.TWILIO_AUTH_TOKEN)


def request_signature_valid(request: HttpRequest) -> bool:
    """True when a webhook POST carries Twilio's signature over our public URL and its form."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    url = public_url(request.get_full_path())
    return _validator().validate(url, request.POST, signature)


def websocket_signature_valid(path_with_query: str, signature: str | None) -> bool:
    """True when a WebSocket handshake carries Twilio's signature: over the ws(s) URL exactly as
    written in the TwiML (query string included), with no parameters."""
    if not signature:
        return False
    return _validator().validate(websocket_url(path_with_query), {}, signature)
