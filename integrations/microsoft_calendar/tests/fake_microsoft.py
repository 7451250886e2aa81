"""A loopback fake of the Microsoft identity platform and Microsoft Graph endpoints we use, for
the real msal client and our Graph client.

    with FakeMicrosoft() as microsoft:
        for name, value in microsoft.settings().items(): setattr(settings, name, value)
        tokens = microsoft.issue_tokens()      # a refresh + access token pair, as after consent
        microsoft.add_event(start, end)        # busy in the default calendar
        microsoft.count("POST", "/common/oauth2/v2.0/token")

It serves https (msal refuses anything else) with a certificate from its own throwaway CA
(`ca_path`, given to the app as MICROSOFT_CA_BUNDLE), on 127.0.0.1:<free port>, in Microsoft's
documented shapes (the templates in fixtures/*.json):

- `{authority}/v2.0/.well-known/openid-configuration`: what msal reads to find the endpoints.
- `{authority}/oauth2/v2.0/authorize`: redirects straight back to `redirect_uri` with a one-use
  code bound to the client, the redirect URI, the PKCE challenge and msal's nonce (or
  `error=access_denied` when `deny_consent` is set).
- `{authority}/oauth2/v2.0/token`: authorization_code and refresh_token grants (refresh tokens
  rotate, as Microsoft's do); a reused code, a wrong verifier, or an invalidated refresh token
  -> 400 `invalid_grant` with an AADSTS description; a wrong secret -> 401 `invalid_client`.
- Graph under `/v1.0`: GET /me, GET /me/calendars, GET /me/calendarView and
  /me/calendars/{id}/calendarView (paged by $top/$skip, @odata.nextLink), POST
  /me/calendar/events and /me/calendars/{id}/events (a repeated `transactionId` gives back the
  first event), PATCH / GET / DELETE /me/events/{id}. Requests need a live bearer token with
  the right scope, else 401 InvalidAuthenticationToken / 403 ErrorAccessDenied.

Faults are switchable per test: `fail(path_prefix, status, retry_after=..., times=...)`,
`hang(path_prefix)`, `latency` (Graph) and `token_latency` (token endpoint).
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import ssl
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import unquote, urlencode
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from integrations.calendar_base.tests.fake_oauth import (
    FakeHandler,
    FakeOAuthServer,
    Fault,
    Grant,
    redirect,
)

FIXTURES = Path(__file__).parent / "fixtures"
TENANT = "common"
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"  # Microsoft's consumer tenant id
GRAPH = "/v1.0"
CALENDAR_SCOPES = {"calendars.readwrite", "calendars.read"}
WRITE_SCOPES = {"calendars.readwrite"}
USER_SCOPES = {"user.read"}
GRANTED_SCOPES = ["Calendars.ReadWrite", "User.Read", "profile", "openid", "email"]


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def graph_error(status: int, code: str | None = None, message: str | None = None) -> dict:
    body = fixture("graph_error")
    body["error"]["code"] = code or {
        401: "InvalidAuthenticationToken",
        403: "ErrorAccessDenied",
        404: "ErrorItemNotFound",
        429: "TooManyRequests",
        503: "ServiceNotAvailable",
    }.get(status, "generalException" if status >= 500 else "BadRequest")
    body["error"]["message"] = message or {
        401: "Access token has expired or is not yet valid.",
        403: "Access is denied. Check credentials and try again.",
        404: "The specified object was not found in the store.",
        429: "Application is over its MailboxConcurrency limit.",
    }.get(status, "The service is temporarily unavailable." if status >= 500 else "Bad request.")
    body["error"]["innerError"]["date"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return body


def token_error(error: str, aadsts: int, sentence: str, *, status: int = 400) -> tuple[int, dict]:
    body = fixture("token_error")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    body.update(
        error=error,
        error_description=(
            f"AADSTS{aadsts}: {sentence}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {correlation}\r\nTimestamp: {now}"
        ),
        error_codes=[aadsts],
        timestamp=now,
        trace_id=trace,
        correlation_id=correlation,
        error_uri=f"https://login.microsoftonline.com/error?code={aadsts}",
    )
    return status, body


def graph_time(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """Graph's dateTimeTimeZone.dateTime: local, no offset, seven fractional digits."""
    local = moment.astimezone(zone or UTC).replace(tzinfo=None)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + ".0000000"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class FakeCalendar:
    id: str
    name: str
    can_edit: bool = True
    is_default: bool = False


@dataclass
class FakeEvent:
    id: str
    calendar_id: str
    start: datetime  # aware UTC
    end: datetime
    resource: dict = field(default_factory=dict)


class FakeMicrosoft(FakeOAuthServer):
    scheme = "https"
    authorize_path = f"/{TENANT}/oauth2/v2.0/authorize"
    token_path = f"/{TENANT}/oauth2/v2.0/token"
    client_id = "6731de76-14a6-49ae-97bc-6eba6914391e"
    client_secret = "fake-client-secret~value"
    account_email = "owner@example.com"
    display_name = "Salon Owner"
    access_token_lifetime = 3599  # seconds, what Microsoft answers
    # A grant dies whole (consent withdrawn, password reset, 90 days unused).
    invalidation_ends_access = True

    def __init__(self, *, latency: float = 0.0, token_latency: float = 0.0, port: int = 0) -> None:
        super().__init__(latency=latency, token_latency=token_latency, port=port)
        self.granted_scopes: list[str] | None = None  # None: as in GRANTED_SCOPES
        self._calendars: dict[str, FakeCalendar] = {}
        self._events: dict[str, FakeEvent] = {}
        self._transactions: dict[str, str] = {}  # transactionId -> event id
        self._tls_dir = tempfile.TemporaryDirectory(prefix="fake-microsoft-")
        self.ca_path = Path(self._tls_dir.name) / "ca.pem"
        self._cert_path = Path(self._tls_dir.name) / "server.pem"
        self._key_path = Path(self._tls_dir.name) / "server.key"
        self._make_certificates()
        self.default_calendar = self.add_calendar("Calendar", default=True)

    # -- Lifecycle ---------------------------------------------------------------------

    def _secure(self, server: ThreadingHTTPServer) -> None:
        # msal refuses anything but https.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert_path, self._key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)

    def __exit__(self, *exc_info) -> None:
        self.stop()
        self._tls_dir.cleanup()

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{TENANT}"

    def settings(self) -> dict:
        """The MICROSOFT_* settings that point the project here."""
        return {
            "MICROSOFT_OAUTH_CLIENT_ID": self.client_id,
            "MICROSOFT_OAUTH_CLIENT_SECRET": self.client_secret,
            "MICROSOFT_OAUTH_AUTHORITY": self.authority,
            "MICROSOFT_GRAPH_ENDPOINT": self.base_url + GRAPH,
            "MICROSOFT_CA_BUNDLE": str(self.ca_path),
        }

    # -- Test helpers ------------------------------------------------------------------

    def add_calendar(self, name: str, *, can_edit: bool = True, default: bool = False) -> str:
        calendar_id = "AAMkAGI2" + _b64url(secrets.token_bytes(18)) + "AAA="
        self._calendars[calendar_id] = FakeCalendar(calendar_id, name, can_edit, default)
        return calendar_id

    def add_event(
        self,
        start: datetime,
        end: datetime,
        *,
        subject: str = "Busy",
        show_as: str = "busy",
        calendar_id: str | None = None,
    ) -> str:
        """An event someone else put in the calendar (the default one unless named)."""
        body = {
            "subject": subject,
            "showAs": show_as,
            "start": {"dateTime": graph_time(start), "timeZone": "UTC"},
            "end": {"dateTime": graph_time(end), "timeZone": "UTC"},
        }
        with self._lock:
            event = self._create_event(calendar_id or self.default_calendar, body)
        return event.id

    def calendar_ids(self) -> list[str]:
        return list(self._calendars)

    def events(self, calendar_id: str | None = None) -> list[dict]:
        """Events in a calendar (default: the default one), as Graph would return them."""
        wanted = calendar_id or self.default_calendar
        with self._lock:
            return [
                copy.deepcopy(e.resource)
                for e in sorted(self._events.values(), key=lambda e: e.start)
                if e.calendar_id == wanted
            ]

    def issue_tokens(self, *, expires_in: int = 3600) -> dict:
        """A refresh + access token pair minted directly, as if the owner had consented."""
        with self._lock:
            grant = self._new_grant(self.granted_scopes or GRANTED_SCOPES)
            access_token = self._mint_access_token(grant, expires_in)
        return {
            "access_token": access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": datetime.now(UTC) + timedelta(seconds=expires_in),
            "scope": " ".join(grant.scopes),
        }

    # -- Identity platform -------------------------------------------------------------

    def openid_configuration(self) -> tuple[int, dict]:
        text = (FIXTURES / "openid_configuration.json").read_text()
        for key, value in {
            "{authority}": self.authority,
            "{base}": self.base_url,
            "{tenant}": TENANT,
            "{tenant_id}": TENANT_ID,
            "{graph}": self.base_url,
        }.items():
            text = text.replace(key, value)
        return 200, json.loads(text)

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """The sign-in and consent screens, answered at once: a redirect back."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {}, ""
        state = query.get("state", "")
        if self.deny_consent:
            return redirect(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "AADSTS65004: User declined to consent to access the app.",
                    "state": state,
                },
            )
        if query.get("response_type") != "code" or not query.get("code_challenge"):
            return redirect(redirect_uri, {"error": "invalid_request", "state": state})
        code = self._new_code(
            "0.AXEA" + secrets.token_urlsafe(40),  # one use; it travels in the redirect URL
            redirect_uri=redirect_uri,
            scopes=self.granted_scopes or GRANTED_SCOPES,
            challenge=query["code_challenge"],
            challenge_method=query.get("code_challenge_method", "plain"),
            nonce=query.get("nonce", ""),
        )
        params = {"code": code, "state": state, "session_state": str(uuid.uuid4())}
        return redirect(redirect_uri, params)

    def _refuse_client(self, form: dict[str, str], authorization: str) -> tuple[int, dict] | None:
        if form.get("client_id") != self.client_id:
            return token_error(
                "unauthorized_client", 700016, "Application was not found.", status=400
            )
        if form.get("client_secret") != self.client_secret:
            return token_error(
                "invalid_client", 7000215, "Invalid client secret provided.", status=401
            )
        return None

    def _unsupported_grant(self, grant_type: str) -> tuple[int, dict]:
        return token_error(
            "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )

    def _exchange_code(self, form: dict[str, str]) -> tuple[int, dict]:
        code, wrong = self._redeem_code(form)
        if wrong == "code":
            return token_error(
                "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid."
            )
        if wrong == "redirect_uri":
            return token_error(
                "invalid_grant", 50148, "The redirect_uri doesn't match the authorization request."
            )
        if code is None:
            return token_error(
                "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge."
            )
        return 200, self._token_response(self._new_grant(code.scopes), nonce=code.nonce)

    def _refresh(self, form: dict[str, str]) -> tuple[int, dict]:
        # Microsoft rotates refresh tokens (the old one keeps working for a while).
        grant = self._grant_to_refresh(form.get("refresh_token", ""), rotate=True)
        if grant is None:
            return token_error(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is "
                "needed. The user might have changed or reset their password.",
            )
        return 200, self._token_response(grant, nonce=None)

    def _token_response(self, grant: Grant, *, nonce: str | None) -> dict:
        body = fixture("token_response")
        body.update(
            scope=" ".join(grant.scopes),
            expires_in=self.access_token_lifetime,
            ext_expires_in=self.access_token_lifetime,
            access_token=self._mint_access_token(grant, self.access_token_lifetime),
            refresh_token=grant.refresh_token,
            id_token=self._id_token(nonce),
            client_info=_b64url(
                json.dumps(
                    {"uid": "00000000-0000-0000-66f3-3332eca7ea81", "utid": TENANT_ID}
                ).encode()
            ),
        )
        return body

    def _id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "aud": self.client_id,
            "iss": f"{self.base_url}/{TENANT_ID}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": self.display_name,
            "oid": "00000000-0000-0000-66f3-3332eca7ea81",
            "preferred_username": self.account_email,
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "tid": TENANT_ID,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        header = {"typ": "JWT", "alg": "RS256", "kid": "fake"}
        parts = [_b64url(json.dumps(p).encode()) for p in (header, claims)]
        return ".".join([*parts, _b64url(b"not-a-signature")])

    def _new_access_token(self) -> str:
        return "EwBIA8l6BAAU" + secrets.token_urlsafe(48)

    def _new_refresh_token(self) -> str:
        return "M.C5" + secrets.token_urlsafe(48)

    # -- Graph -------------------------------------------------------------------------------

    def authorize_bearer(self, authorization: str, needed: set[str]) -> tuple[int, dict] | None:
        with self._lock:
            live = self._bearer(authorization)
            if live is None:
                return 401, graph_error(401)
            if not {s.lower() for s in live.grant.scopes} & needed:
                return 403, graph_error(403)
        return None

    def me(self) -> tuple[int, dict]:
        body = fixture("me")
        body.update(mail=self.account_email, userPrincipalName=self.account_email)
        body["displayName"] = self.display_name
        return 200, body

    def calendars(self) -> tuple[int, dict]:
        body = fixture("calendars")
        template = body["value"][0]
        body["value"] = [
            {
                **template,
                "@odata.id": template["@odata.id"].replace("AAMkAGI2TG93AAA=", c.id),
                "id": c.id,
                "name": c.name,
                "canEdit": c.can_edit,
                "isDefaultCalendar": c.is_default,
            }
            for c in self._calendars.values()
        ]
        return 200, body

    def calendar_view(
        self, calendar_id: str | None, query: dict[str, str], prefer: str
    ) -> tuple[int, dict]:
        """GET /me/calendarView or /me/calendars/{id}/calendarView: the events overlapping
        [startDateTime, endDateTime), a page of `$top` (Graph's default 10) at a time with an
        @odata.nextLink carrying `$skip`; times in the Prefer zone (else UTC)."""
        calendar = self._calendars.get(calendar_id or self.default_calendar)
        if calendar is None:
            return 404, graph_error(404)
        try:
            start = _parse_instant(query["startDateTime"])
            end = _parse_instant(query["endDateTime"])
            top = int(query.get("$top") or 10)
            skip = int(query.get("$skip") or 0)
        except (KeyError, ValueError):
            return 400, graph_error(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters "
                "StartDateTime and EndDateTime.",
            )
        zone = _prefer_zone(prefer)
        with self._lock:
            mine = sorted(
                (
                    e
                    for e in self._events.values()
                    if e.calendar_id == calendar.id and e.start < end and e.end > start
                ),
                key=lambda e: e.start,
            )
            page = [copy.deepcopy(e.resource) for e in mine[skip : skip + top]]
        for resource, event in zip(page, mine[skip : skip + top], strict=True):
            resource.pop("calendar_id", None)
            resource["start"] = {
                "dateTime": graph_time(event.start, zone),
                "timeZone": _zone_name(zone),
            }
            resource["end"] = {
                "dateTime": graph_time(event.end, zone),
                "timeZone": _zone_name(zone),
            }
        answer: dict = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('"
            + self.account_email.replace("@", "%40")
            + "')/calendarView",
            "value": page,
        }
        if skip + top < len(mine):
            answer["@odata.nextLink"] = (
                f"{self.base_url}{GRAPH}/me/"
                + (f"calendars/{calendar_id}/" if calendar_id else "")
                + "calendarView?"
                + urlencode({**query, "$skip": str(skip + top)})
            )
        return 200, answer

    def create_event(self, calendar_id: str | None, body: dict) -> tuple[int, dict]:
        calendar = self._calendars.get(calendar_id or self.default_calendar)
        if calendar is None:
            return 404, graph_error(404)
        if not calendar.can_edit:
            return 403, graph_error(403)
        problem = _event_problem(body)
        if problem:
            return 400, graph_error(400, *problem)
        with self._lock:
            existing = self._transactions.get(body.get("transactionId") or "")
            if existing and existing in self._events:
                # The same transactionId again: the first create's event, not a second one.
                return 201, copy.deepcopy(self._events[existing].resource)
            event = self._create_event(calendar.id, body)
            return 201, copy.deepcopy(event.resource)

    def update_event(self, event_id: str, body: dict) -> tuple[int, dict]:
        with self._lock:
            event = self._events.get(event_id)
            if event is None:
                return 404, graph_error(404)
            merged = {**event.resource, **body}
            problem = _event_problem(merged)
            if problem:
                return 400, graph_error(400, *problem)
            event.resource = self._resource(event.id, event.calendar_id, merged)
            event.start, event.end = _instant(merged["start"]), _instant(merged["end"])
            return 200, copy.deepcopy(event.resource)

    def get_event(self, event_id: str) -> tuple[int, dict]:
        with self._lock:
            event = self._events.get(event_id)
            return (200, copy.deepcopy(event.resource)) if event else (404, graph_error(404))

    def delete_event(self, event_id: str) -> tuple[int, dict | None]:
        with self._lock:
            if self._events.pop(event_id, None) is None:
                return 404, graph_error(404)
        return 204, None

    def _create_event(self, calendar_id: str, body: dict) -> FakeEvent:
        event_id = "AAMkAGI1AAA" + _b64url(secrets.token_bytes(24)) + "="
        event = FakeEvent(
            id=event_id,
            calendar_id=calendar_id,
            start=_instant(body["start"]),
            end=_instant(body["end"]),
            resource=self._resource(event_id, calendar_id, body),
        )
        self._events[event_id] = event
        if body.get("transactionId"):
            self._transactions[body["transactionId"]] = event_id
        return event

    def _resource(self, event_id: str, calendar_id: str, body: dict) -> dict:
        resource = fixture("event")
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        resource.update(
            {k: v for k, v in body.items() if k in resource or k == "transactionId"},
            id=event_id,
            createdDateTime=body.get("createdDateTime", now),
            lastModifiedDateTime=now,
            originalStartTimeZone=body["start"].get("timeZone", "UTC"),
            originalEndTimeZone=body["end"].get("timeZone", "UTC"),
            bodyPreview=(body.get("body") or {}).get("content", "")[:255],
            webLink=f"https://outlook.office365.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
            start=_normalised(body["start"]),
            end=_normalised(body["end"]),
        )
        resource["organizer"]["emailAddress"]["address"] = self.account_email
        resource["calendar_id"] = calendar_id  # ours, for the tests; Graph has no such field
        return resource

    def _make_certificates(self) -> None:
        """A throwaway CA and a certificate for 127.0.0.1/localhost signed by it."""
        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Microsoft test CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self._cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


class _Handler(FakeHandler):
    fake: FakeMicrosoft
    json_type = "application/json; charset=utf-8"

    def is_api(self, path: str) -> bool:
        return path.startswith(GRAPH)

    def reply_fault(self, fault: Fault, path: str) -> None:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        if path.startswith(GRAPH):
            return self._reply(fault.status, graph_error(fault.status, fault.code), headers)
        status, body = token_error(
            fault.code or "temporarily_unavailable",
            50196 if fault.status == 429 else 90033,
            "The server is temporarily unable to handle the request.",
            status=fault.status,
        )
        return self._reply(status, body, headers)

    def route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> None:
        if method == "GET" and path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return self._reply(*self.fake.openid_configuration())
        if path.startswith(GRAPH + "/"):
            return self._graph(method, path[len(GRAPH) :], raw, query)
        return self._reply(404, graph_error(404))

    def _graph(self, method: str, path: str, raw: bytes, query: dict[str, str]) -> None:
        fake = self.fake
        prefer = self.headers.get("Prefer", "")
        needed = USER_SCOPES if path == "/me" else CALENDAR_SCOPES
        if method in ("POST", "PATCH", "DELETE"):
            needed = WRITE_SCOPES
        refused = fake.authorize_bearer(self.headers.get("Authorization", ""), needed)
        if refused:
            return self._reply(*refused)
        body: dict = {}
        if method in ("POST", "PATCH"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._reply(400, graph_error(400, "BadRequest", "Unable to read JSON."))
        segments = [unquote(s) for s in path.strip("/").split("/")]
        match (method, segments):
            case ("GET", ["me"]):
                return self._reply(*fake.me())
            case ("GET", ["me", "calendars"]):
                return self._reply(*fake.calendars())
            case ("GET", ["me", "calendarView"]):
                return self._reply(*fake.calendar_view(None, query, prefer))
            case ("GET", ["me", "calendars", calendar_id, "calendarView"]):
                return self._reply(*fake.calendar_view(calendar_id, query, prefer))
            case ("POST", ["me", "calendar", "events"]):
                return self._reply(*fake.create_event(None, body))
            case ("POST", ["me", "calendars", calendar_id, "events"]):
                return self._reply(*fake.create_event(calendar_id, body))
            case ("GET", ["me", "events", event_id]):
                return self._reply(*fake.get_event(event_id))
            case ("PATCH", ["me", "events", event_id]):
                return self._reply(*fake.update_event(event_id, body))
            case ("DELETE", ["me", "events", event_id]):
                return self._reply(*fake.delete_event(event_id))
        return self._reply(404, graph_error(404, "UnknownError", "Resource not found."))


FakeMicrosoft.handler = _Handler


def _zone(name: str) -> ZoneInfo:
    if name.upper() in ("UTC", "COORDINATED UNIVERSAL TIME"):
        return ZoneInfo("UTC")
    return ZoneInfo(name)  # IANA names; Graph also takes Windows names, which we never send


def _instant(value: dict) -> datetime:
    text = str(value["dateTime"])
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction.rstrip('Z')[:6]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(value.get("timeZone") or "UTC"))
    return moment.astimezone(UTC)


def _normalised(value: dict) -> dict:
    """What Graph echoes: the local time with seven fractional digits, in the given zone."""
    zone = value.get("timeZone") or "UTC"
    return {"dateTime": graph_time(_instant(value), _zone(zone)), "timeZone": zone}


def _event_problem(body: dict) -> tuple[str, str] | None:
    for edge in ("start", "end"):
        value = body.get(edge)
        if not isinstance(value, dict) or not value.get("dateTime"):
            return "ErrorInvalidRequest", f"Your request can't be completed. {edge} is required."
        try:
            _instant(value)
        except (KeyError, ValueError):
            return "TimeZoneNotSupportedException", (
                f"A valid TimeZone value must be specified. The following TimeZone value is "
                f"not supported: '{value.get('timeZone')}'."
            )
    if _instant(body["end"]) < _instant(body["start"]):
        return "ErrorInvalidRequest", "The end time must not be before the start time."
    return None


def _prefer_zone(prefer: str) -> ZoneInfo:
    # Prefer: outlook.timezone="Pacific Standard Time" (we only ever send UTC).
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "outlook.timezone" and value:
            return _zone(value.strip().strip('"'))
    return ZoneInfo("UTC")


def _zone_name(zone: ZoneInfo) -> str:
    return "UTC" if zone.key == "UTC" else zone.key


def _parse_instant(text: str) -> datetime:
    """calendarView's startDateTime/endDateTime: ISO 8601, UTC unless an offset is given."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
