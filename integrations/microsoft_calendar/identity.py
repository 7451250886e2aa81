"""The Microsoft identity platform through msal: one confidential client per process.

msal knows Microsoft's endpoints from the authority (MICROSOFT_OAUTH_AUTHORITY, e.g.
https://login.microsoftonline.com/common): it reads `{authority}/v2.0/.well-known/
openid-configuration` once when the client is built. `instance_discovery=False` keeps it from
asking login.microsoftonline.com whether a non-Microsoft host (a fake, a sovereign cloud) is
an authority. msal speaks https only; MICROSOFT_CA_BUNDLE lets a local fake's CA be trusted.

Tokens never stay in msal: its cache is replaced by one that keeps nothing, so the encrypted
fields on the connection are the one place a token lives (refreshed tokens are saved by the
client through connections.store)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msal
import requests
from django.conf import settings

from integrations.calendar_base.oauth_client import OAuthClientSettings

# msal adds offline_access (what yields a refresh token), openid and profile itself and
# refuses them here.
SCOPES = ["Calendars.ReadWrite", "User.Read"]
REQUESTED_SCOPES = ["offline_access", *SCOPES]
GRAPH_SCOPE_PREFIX = "https://graph.microsoft.com/"
REQUIRED_SETTINGS = ("MICROSOFT_OAUTH_CLIENT_ID", "MICROSOFT_OAUTH_CLIENT_SECRET")
# OAuth errors that mean the grant itself is dead (revoked, expired, consent withdrawn).
DEAD_GRANT = {"invalid_grant", "interaction_required"}
# Errors that mean our app registration or secret is wrong, not the owner's grant.
CLIENT_ERRORS = {"invalid_client", "unauthorized_client", "invalid_request"}


class _KeepNothing(msal.TokenCache):
    """msal's token cache, minus the keeping: tokens live encrypted on the connection."""

    def add(self, event, now=None) -> None:
        return None


@dataclass(frozen=True)
class TokenAnswer:
    """What the token endpoint said, without exposing a token in repr or logs."""

    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)
    account: str = ""
    error: str = ""
    description: str = ""

    @property
    def grant_is_dead(self) -> bool:
        return self.error in DEAD_GRANT

    @property
    def client_is_wrong(self) -> bool:
        return self.error in CLIENT_ERRORS


def token_answer(result: dict) -> TokenAnswer:
    """msal's result dict (tokens, or error + error_description) as a TokenAnswer."""
    if "access_token" not in result:
        return TokenAnswer(
            error=str(result.get("error") or "error"),
            # The AADSTS code and sentence, never a token (Microsoft's errors carry none).
            description=str(result.get("error_description") or "").split("\r\n")[0][:300],
        )
    expires_in = result.get("expires_in")
    expires_at = datetime.now(UTC) + timedelta(seconds=float(expires_in)) if expires_in else None
    claims = result.get("id_token_claims") or {}
    return TokenAnswer(
        access_token=result["access_token"],
        refresh_token=result.get("refresh_token"),
        expires_at=expires_at,
        scopes=short_scopes(result.get("scope")),
        account=str(claims.get("preferred_username") or claims.get("email") or ""),
    )


def short_scopes(value) -> list[str]:
    """Granted scopes as we name them ("Calendars.ReadWrite"), whatever the form."""
    if not value:
        return []
    items = value.split() if isinstance(value, str) else list(value)
    return [str(scope).removeprefix(GRAPH_SCOPE_PREFIX) for scope in items]


# The redirect URI is registered in Entra as the app's Web redirect URI.
CLIENT = OAuthClientSettings(REQUIRED_SETTINGS, "microsoft_calendar:callback")
missing_settings = CLIENT.missing_settings
is_configured = CLIENT.is_configured
redirect_uri = CLIENT.redirect_uri


def http_timeout() -> float:
    return settings.MICROSOFT_HTTP_TIMEOUT


def tls_verify() -> str | bool:
    return settings.MICROSOFT_CA_BUNDLE or True


class HttpSession(requests.Session):
    """requests with our CA bundle and timeout on every request. Passed per request because
    requests lets REQUESTS_CA_BUNDLE in the environment override a session's own `verify`."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("verify", tls_verify())
        kwargs.setdefault("timeout", http_timeout())
        return super().request(method, url, **kwargs)


_apps: dict[tuple, msal.ConfidentialClientApplication] = {}
_apps_lock = threading.Lock()


def confidential_app() -> msal.ConfidentialClientApplication:
    """The process's msal client for the configured app (built once per setting values:
    building it costs one request for the authority's OpenID configuration).

    Raises ValueError when the authority can't be used (not https, unreachable, unknown)."""
    key = (
        settings.MICROSOFT_OAUTH_CLIENT_ID,
        settings.MICROSOFT_OAUTH_CLIENT_SECRET,
        settings.MICROSOFT_OAUTH_AUTHORITY,
        settings.MICROSOFT_CA_BUNDLE,
        settings.MICROSOFT_HTTP_TIMEOUT,
    )
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            app = msal.ConfidentialClientApplication(
                settings.MICROSOFT_OAUTH_CLIENT_ID,
                client_credential=settings.MICROSOFT_OAUTH_CLIENT_SECRET,
                authority=settings.MICROSOFT_OAUTH_AUTHORITY,
                token_cache=_KeepNothing(),
                http_client=HttpSession(),
                instance_discovery=False,
            )
            _apps[key] = app
        return app


def forget_apps() -> None:
    """Drop the built clients (tests start a new fake Microsoft per test)."""
    with _apps_lock:
        _apps.clear()
