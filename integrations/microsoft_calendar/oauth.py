"""Connecting a business's Outlook calendar from admin: the Microsoft identity platform's
authorization code flow with PKCE, through msal.

msal builds the sign-in URL with a state, a nonce and a PKCE challenge and hands back a flow
dict holding the verifier; the flow is remembered server-side in the staff member's session
under its state (calendar_base.signins), taken out once by the callback, and given back to
msal to redeem the code. Tokens pass through here on their way into the encrypted fields;
they are never logged, never put in a message, and the functions that hold them hide their
locals from Django's error reports.

Microsoft has no endpoint that revokes one app's delegated grant: disconnecting deletes our
tokens, and the owner can remove the app's consent in their account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import requests
from django.contrib.sessions.backends.base import SessionBase
from django.views.decorators.debug import sensitive_variables
from msal.exceptions import MsalServiceError

from bookings.models import Business
from integrations.calendar_base import errors
from integrations.calendar_base.errors import CalendarError
from integrations.calendar_base.signins import PendingSignIns, StateRejected, new_state
from integrations.microsoft_calendar import identity
from integrations.microsoft_calendar.client import GraphClient
from integrations.microsoft_calendar.connections import store
from integrations.microsoft_calendar.models import OutlookCalendarConnection

__all__ = ["StateRejected"]  # the callback view catches it here

logger = logging.getLogger(__name__)

PENDING_SESSION_KEY = "microsoft_calendar_oauth_pending"
SIGN_INS = PendingSignIns(PENDING_SESSION_KEY)
# Where an owner removes the app's access themselves.
REMOVE_ACCESS = (
    "https://myapps.microsoft.com (work or school accounts) or "
    "https://account.live.com/consent/Manage (personal accounts)"
)
# The words Microsoft's consent screen uses, so staff recognise what was not granted.
PERMISSION_NAMES = {
    "Calendars.ReadWrite": "Have full access to your calendars",
    "User.Read": "Sign you in and read your profile",
}


class ConnectFailed(Exception):
    """Microsoft did not give us a usable connection; the message is for staff, token-free."""


@dataclass(frozen=True)
class PendingAuthorization:
    state: str
    business_id: int
    user_id: int
    flow: dict = field(repr=False)  # msal's auth code flow: state, nonce, PKCE verifier
    started_at: float


@dataclass(frozen=True)
class DisconnectResult:
    detail: str


def _app():
    try:
        return identity.confidential_app()
    except ValueError as exc:
        # msal refuses a non-https authority and one whose OpenID configuration won't load.
        raise ConnectFailed(
            "Microsoft's sign-in could not be used: check MICROSOFT_OAUTH_AUTHORITY (an "
            f"https:// address such as https://login.microsoftonline.com/common) ({exc})."[:400]
        ) from exc
    except requests.RequestException as exc:
        raise ConnectFailed(
            f"Microsoft's sign-in did not answer ({type(exc).__name__}). Please try again."
        ) from exc


def start_authorization(*, session: SessionBase, business: Business, user) -> str:
    """Microsoft's sign-in URL for connecting `business`; remembers the flow in `session`.

    Raises ConnectFailed when the authority can't be used."""
    app = _app()
    state = new_state(business)
    flow = app.initiate_auth_code_flow(
        scopes=identity.SCOPES,
        redirect_uri=identity.redirect_uri(),
        state=state,
        prompt="select_account",
    )
    SIGN_INS.remember(session, state=state, business=business, user=user, flow=flow)
    logger.info("Outlook Calendar connect started for %s by user %s.", business.slug, user.pk)
    return flow["auth_uri"]


def take_pending(*, session: SessionBase, state: str, user) -> PendingAuthorization:
    """The sign-in this callback completes, removed from the session (one use).

    Raises StateRejected for a missing, unknown, replayed, expired, foreign or tampered state."""
    return PendingAuthorization(state=state, **SIGN_INS.take(session, state=state, user=user))


def missing_permissions(scopes: list[str]) -> list[str]:
    granted = {scope.lower() for scope in scopes}
    return [PERMISSION_NAMES[s] for s in identity.SCOPES if s.lower() not in granted]


@sensitive_variables()
def exchange_code(*, pending: PendingAuthorization, params: dict[str, str]) -> identity.TokenAnswer:
    """Redeem the code with the flow kept since the start (msal checks the state and sends
    the PKCE verifier). Raises ConnectFailed with a message for staff (never a token)."""
    app = _app()
    try:
        result = app.acquire_token_by_auth_code_flow(pending.flow, params, scopes=identity.SCOPES)
    except (ValueError, RuntimeError) as exc:
        # msal checks the state and the id token's nonce against the flow it started.
        raise ConnectFailed(
            "Outlook Calendar was not connected: the sign-in did not match the one started. "
            "Please start again."
        ) from exc
    except (requests.RequestException, MsalServiceError) as exc:
        raise ConnectFailed(
            f"Microsoft did not answer the sign-in ({type(exc).__name__}). Please try again."
        ) from exc
    answer = identity.token_answer(result)
    if answer.error:
        # e.g. invalid_grant: an old, used or foreign code, or a verifier that does not match.
        code = answer.description.split(":", 1)[0] if answer.description else ""
        raise ConnectFailed(
            f"Microsoft did not accept the sign-in ({answer.error}{f', {code}' if code else ''}). "
            "Please start again."
        )
    return answer


@sensitive_variables()
def connect_with_code(
    *, business: Business, user, pending: PendingAuthorization, params: dict[str, str]
) -> tuple[OutlookCalendarConnection, str]:
    """The callback's work: redeem, check what was granted, store, learn the account.

    Returns the connection and a warning for staff ("" when all went well). Raises
    ConnectFailed when nothing was stored."""
    granted = exchange_code(pending=pending, params=params)
    missing = missing_permissions(granted.scopes)
    if missing:
        listed = "; ".join(f'"{name}"' for name in missing)
        raise ConnectFailed(
            "Outlook Calendar was not connected: Microsoft did not grant the permission "
            f"{listed}. Connect again and accept every permission (an administrator may have "
            "to consent for a work account)."
        )
    if not granted.refresh_token:
        raise ConnectFailed(
            "Outlook Calendar was not connected: Microsoft sent no refresh token "
            "(offline_access), so we could not stay connected. Connect again."
        )
    connection = store.save_connected(
        business=business,
        user=user,
        account_email=granted.account,
        refresh_token=granted.refresh_token,
        access_token=granted.access_token,
        expires_at=granted.expires_at,
        scopes=granted.scopes,
    )
    try:
        address = GraphClient(connection).account_address()
    except CalendarError as exc:
        # Connected all the same: the tokens are good. The client recorded a revoked token.
        if exc.kind != errors.TOKEN_REVOKED:
            store.record_problem(connection=connection, kind=exc.kind, detail=str(exc))
        return connection, f"Connected, but Microsoft Graph did not tell us the account ({exc})."
    if address:
        store.save_account_email(connection=connection, account_email=address)
    return connection, ""


def disconnect(*, connection: OutlookCalendarConnection) -> DisconnectResult:
    """Delete our tokens: a disconnected business never keeps a usable token."""
    store.wipe_tokens(connection=connection)
    return DisconnectResult(
        detail=f"To remove the app's access at Microsoft as well, use {REMOVE_ACCESS}."
    )
