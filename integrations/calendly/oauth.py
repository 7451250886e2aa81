"""Calendly's OAuth 2.0 authorization-code flow with PKCE (S256), which Calendly recommends
for every app: connecting a business's Calendly from admin, and revoking it.

Endpoints (CALENDLY_AUTH_BASE_URL, https://auth.calendly.com): GET /oauth/authorize, POST
/oauth/token (web apps authenticate with HTTP Basic), POST /oauth/revoke. The token response
names the user (`owner`) and `organization` we act for; GET /users/me gives the name and
email shown as "Connected as ...".

Tokens pass through this module on their way into the encrypted fields; they are never
logged, never put in an exception message, and the functions that hold them hide their locals
from Django's error reports.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.views.decorators.debug import sensitive_variables

from bookings.models import Business
from integrations.calendar_base.oauth_client import OAuthClientSettings
from integrations.calendar_base.signins import PendingSignIns, StateRejected, new_state
from integrations.calendly import connections
from integrations.calendly.client import (
    CalendlyClient,
    CalendlyError,
    request_tokens,
    secure_enough,
)
from integrations.calendly.models import CalendlyConnection

logger = logging.getLogger(__name__)

REQUIRED_SETTINGS = ("CALENDLY_OAUTH_CLIENT_ID", "CALENDLY_OAUTH_CLIENT_SECRET")
PENDING_SESSION_KEY = "calendly_oauth_pending"
SIGN_INS = PendingSignIns(PENDING_SESSION_KEY)
# Read the user and event types, read available times, create invitees and cancel events.
SCOPES = ["users:read", "event_types:read", "scheduled_events:write"]


__all__ = ["StateRejected"]


class ConnectFailed(Exception):
    """Calendly did not give us a usable connection; the message is for staff, token-free."""


@dataclass(frozen=True)
class RevokeResult:
    ok: bool
    detail: str = ""


CLIENT = OAuthClientSettings(REQUIRED_SETTINGS, "calendly:callback")
missing_settings = CLIENT.missing_settings
is_configured = CLIENT.is_configured
redirect_uri = CLIENT.redirect_uri


def http_timeout() -> float:
    return settings.CALENDLY_HTTP_TIMEOUT


def _auth_url(path: str) -> str:
    url = settings.CALENDLY_AUTH_BASE_URL.rstrip("/") + path
    if not secure_enough(url):
        raise ConnectFailed(
            "CALENDLY_AUTH_BASE_URL must be an https:// address "
            "(plain http is only allowed for a local fake Calendly under DEBUG)."
        )
    return url


def new_code_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43-128 characters of the unreserved set)."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class PendingAuthorization:
    business_id: int
    code_verifier: str = field(repr=False)


def start_authorization(*, session: SessionBase, business: Business, user) -> str:
    """Calendly's consent URL for connecting `business`; remembers the state in `session`."""
    url = _auth_url("/oauth/authorize")
    state = new_state(business)
    verifier = new_code_verifier()
    SIGN_INS.remember(session, state=state, business=business, user=user, code_verifier=verifier)
    query = {
        "client_id": settings.CALENDLY_OAUTH_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": redirect_uri(),
        "state": state,
        "scope": " ".join(SCOPES),
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
    }
    logger.info("Calendly connect started for %s by user %s.", business.slug, user.pk)
    return f"{url}?{urlencode(query)}"


def take_pending(*, session: SessionBase, state: str, user) -> PendingAuthorization:
    """The sign-in this callback completes, removed from the session (one use). Raises
    StateRejected for a missing, unknown, replayed, expired, foreign or tampered state."""
    entry = SIGN_INS.take(session, state=state, user=user)
    return PendingAuthorization(
        business_id=entry["business_id"], code_verifier=entry["code_verifier"]
    )


@sensitive_variables()
def connect_with_code(
    *, business: Business, user, pending: PendingAuthorization, code: str
) -> tuple[CalendlyConnection, str]:
    """The callback's work: exchange the code, store the tokens, learn who is connected.

    Returns the connection and a warning for staff ("" when all went well). Raises
    ConnectFailed when nothing was stored."""
    _auth_url("/oauth/token")
    try:
        granted = request_tokens(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri(),
                "code_verifier": pending.code_verifier,
            },
            timeout=http_timeout(),
        )
    except CalendlyError as exc:
        if exc.permanent:
            raise ConnectFailed(
                f"Calendly did not accept the sign-in ({exc}). Please start again."
            ) from exc
        raise ConnectFailed(
            f"Calendly did not answer the sign-in ({exc}). Please try again."
        ) from exc
    if not granted.refresh_token:
        revoke(granted.access_token)
        raise ConnectFailed(
            "Calendly was not connected: Calendly sent no refresh token, so we could not stay "
            "connected. Connect again."
        )
    connection = connections.save_connected(
        business=business,
        user=user,
        refresh_token=granted.refresh_token,
        access_token=granted.access_token,
        expires_at=granted.expires_at,
        scopes=granted.scopes or list(SCOPES),
        user_uri=granted.owner,
        organization_uri=granted.organization,
    )
    try:
        me = CalendlyClient(connection).current_user()
    except CalendlyError as exc:
        if exc.kind != connections.TOKEN_REVOKED:
            connections.record_problem(connection=connection, kind=exc.kind, detail=str(exc))
        return connection, f"Connected, but Calendly did not say who the account is ({exc})."
    connections.save_user(
        connection=connection,
        name=str(me.get("name") or ""),
        email=str(me.get("email") or ""),
        user_uri=str(me.get("uri") or ""),
    )
    return connection, ""


@sensitive_variables()
def revoke(token: str | None) -> RevokeResult:
    """POST /oauth/revoke (client id and secret in the form, as Calendly documents)."""
    if not token:
        return RevokeResult(ok=True, detail="there was no token to revoke")
    try:
        url = _auth_url("/oauth/revoke")
    except ConnectFailed as exc:
        return RevokeResult(ok=False, detail=str(exc))
    try:
        response = requests.post(
            url,
            data={
                "client_id": settings.CALENDLY_OAUTH_CLIENT_ID,
                "client_secret": settings.CALENDLY_OAUTH_CLIENT_SECRET,
                "token": token,
            },
            timeout=http_timeout(),
        )
    except requests.RequestException as exc:
        return RevokeResult(ok=False, detail=f"Calendly did not answer ({type(exc).__name__})")
    if response.status_code == 200:
        return RevokeResult(ok=True)
    return RevokeResult(ok=False, detail=f"Calendly answered HTTP {response.status_code}")


@sensitive_variables()
def disconnect(*, connection: CalendlyConnection) -> RevokeResult:
    """Revoke at Calendly, then wipe the tokens here whatever Calendly said (a failed revoke
    is recorded on the connection)."""
    if connection.tokens_unreadable:
        result = RevokeResult(
            ok=False,
            detail="The stored tokens can't be read with the current keys, so Calendly could "
            "not be asked to revoke them",
        )
    else:
        result = revoke(connection.refresh_token or connection.access_token)
    connections.wipe_tokens(connection=connection)
    if not result.ok:
        connections.record_problem(
            connection=connection,
            kind=connections.REVOKE_FAILED,
            detail=f"{result.detail.rstrip('.')}. The tokens were deleted here anyway.",
        )
    return result
