"""An integration's OAuth client as this app is set up with it: the settings it needs before
staff can connect, and the redirect URI registered with the service."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse


@dataclass(frozen=True)
class OAuthClientSettings:
    required: tuple[str, ...]  # e.g. ("GOOGLE_OAUTH_CLIENT_ID", "GOOGLE_OAUTH_CLIENT_SECRET")
    callback: str  # the callback view's URL name

    def missing_settings(self) -> list[str]:
        """The settings staff must set before connecting is possible (empty when ready)."""
        return [name for name in self.required if not getattr(settings, name)]

    def is_configured(self) -> bool:
        return not self.missing_settings()

    def redirect_uri(self) -> str:
        """Registered with the service as the redirect URI. Built from PUBLIC_BASE_URL, not
        from the request: behind a TLS proxy the request looks like plain http."""
        return settings.PUBLIC_BASE_URL + reverse(self.callback)
