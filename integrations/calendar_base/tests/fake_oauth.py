"""What the loopback fakes of Google, Microsoft and Calendly share: a threaded server on
127.0.0.1 that logs every request and answers switchable faults, and an OAuth authorization
server behind it.

- Consent: `_new_code` issues a one-use code bound to the redirect URI, the granted scopes and
  the PKCE challenge; `_redirect` sends the browser back with it.
- Token endpoint (`token_path`): the authorization_code grant (`_redeem_code` checks the code,
  the redirect URI and the verifier) and the refresh_token grant (`_grant_to_refresh`, with
  rotation where the vendor rotates); `token_grants` records each grant type asked for.
- Tokens: grants, refresh tokens and live access tokens (`_bearer`), with the test helpers
  `expire_access_tokens` and `invalidate_refresh_tokens`.

A fake subclasses FakeOAuthServer and FakeHandler and keeps only its vendor's shapes: paths,
token formats, error bodies, what a fault answers and how its API is routed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit


@dataclass
class Fault:
    path_prefix: str
    status: int
    code: str | None = None  # the vendor's error code or reason, else one by status
    remaining: int = 1
    retry_after: float | None = None
    method: str | None = None
    hang: bool = False


@dataclass
class Grant:
    """One consent: its refresh token and the access tokens minted from it."""

    scopes: list[str]
    refresh_token: str | None = None
    revoked: bool = False  # refresh and access tokens are dead
    refresh_invalidated: bool = False  # only the refresh token is


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float  # time.time()


@dataclass
class AuthCode:
    redirect_uri: str
    scopes: list[str]
    challenge: str | None
    challenge_method: str
    expires_at: float
    offline: bool = True  # a refresh token comes with the access token
    nonce: str = ""
    used: bool = False


class FakeOAuthServer:
    """Lifecycle, request log, faults and OAuth state; subclasses set the class attributes
    and the `_new_*_token` formats, and answer the endpoints in their vendor's shapes."""

    handler: ClassVar[type[FakeHandler]]
    scheme: ClassVar[str] = "http"
    authorize_path: ClassVar[str]
    token_path: ClassVar[str]
    access_token_lifetime: ClassVar[int] = 3599  # seconds
    code_lifetime: ClassVar[timedelta] = timedelta(minutes=10)
    invalidation_ends_access: ClassVar[bool] = False

    def __init__(self, *, latency: float = 0.0, token_latency: float = 0.0, port: int = 0) -> None:
        self.port = port  # 0: any free port (tests); fixed for the run_fake_* commands
        self.latency = latency  # before every API answer
        self.token_latency = token_latency  # before every token endpoint answer
        self.deny_consent = False
        self.hang_seconds = 30.0  # a hung answer gives up after this (or when stopped)
        self.requests: list[tuple[str, str]] = []
        self.token_grants: list[str] = []  # grant_type of every token request, in order
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._codes: dict[str, AuthCode] = {}
        self._refresh_tokens: dict[str, Grant] = {}
        self._access_tokens: dict[str, AccessToken] = {}
        self._stopped = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- Lifecycle ---------------------------------------------------------------------

    def start(self):
        handler = type("Handler", (self.handler,), {"fake": self})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._secure(server)
        server.daemon_threads = True
        server.block_on_close = False  # a hung answer must not hold up stop()
        self._server = server
        self._stopped.clear()
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def _secure(self, server: ThreadingHTTPServer) -> None:
        """Wrap the socket in TLS, for a vendor whose library refuses plain http."""

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, f"start the fake first ({type(self).__name__}().start())"
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def env(self) -> dict[str, str]:
        """`settings()` as environment variables, for a server subprocess."""
        return {key: str(value) for key, value in self.settings().items()}

    def settings(self) -> dict:
        raise NotImplementedError

    # -- Test helpers --------------------------------------------------------------------

    def count(self, method: str, path_prefix: str = "") -> int:
        with self._lock:
            return sum(
                1 for m, p in self.requests if m == method.upper() and p.startswith(path_prefix)
            )

    def fail(
        self,
        path_prefix: str,
        status: int,
        *,
        code: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` (from the
        server root) with `status` and the vendor's error body for `code`."""
        with self._lock:
            self._faults.append(
                Fault(path_prefix, status, code, times, retry_after, method and method.upper())
            )

    def hang(self, path_prefix: str, times: int = 1) -> None:
        """The next matching requests get no answer (until `hang_seconds` or stop())."""
        with self._lock:
            self._faults.append(Fault(path_prefix, 0, None, times, hang=True))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_access_tokens(self) -> None:
        with self._lock:
            for token in self._access_tokens.values():
                token.expires_at = min(token.expires_at, time.time() - 1)

    def invalidate_refresh_tokens(self) -> None:
        """Every refresh token dies (revoked by the user, unused for months...): the next
        refresh gets invalid_grant; where the vendor ends the grant itself
        (`invalidation_ends_access`), its access tokens die too."""
        with self._lock:
            for grant in self._refresh_tokens.values():
                grant.refresh_invalidated = True
                grant.revoked = grant.revoked or self.invalidation_ends_access

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix) and fault.method in (None, method):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- Tokens (call with self._lock held) ------------------------------------------------

    def _new_access_token(self) -> str:
        raise NotImplementedError

    def _new_refresh_token(self) -> str:
        raise NotImplementedError

    def _new_grant(self, scopes: list[str], *, offline: bool = True) -> Grant:
        grant = Grant(
            scopes=list(scopes), refresh_token=self._new_refresh_token() if offline else None
        )
        if grant.refresh_token:
            self._refresh_tokens[grant.refresh_token] = grant
        return grant

    def _mint_access_token(self, grant: Grant, expires_in: float) -> str:
        token = self._new_access_token()
        self._access_tokens[token] = AccessToken(grant, time.time() + expires_in)
        return token

    def _grant_to_refresh(self, refresh_token: str, *, rotate: bool = False) -> Grant | None:
        """The live grant of `refresh_token`, or None (invalid_grant). `rotate` gives the
        grant a new refresh token and keeps the old one working (Microsoft) unless the
        vendor's are single-use (`_single_use_refresh_tokens`)."""
        grant = self._refresh_tokens.get(refresh_token)
        if grant is None or grant.revoked or grant.refresh_invalidated:
            return None
        if rotate:
            if self._single_use_refresh_tokens:
                del self._refresh_tokens[refresh_token]
            grant.refresh_token = self._new_refresh_token()
            self._refresh_tokens[grant.refresh_token] = grant
        return grant

    _single_use_refresh_tokens: ClassVar[bool] = False

    def _bearer(self, authorization: str) -> AccessToken | None:
        """The live access token an `Authorization: Bearer ...` header carries, or None."""
        token = authorization.removeprefix("Bearer ").strip()
        access = self._access_tokens.get(token)
        if access is None or access.expires_at <= time.time() or access.grant.revoked:
            return None
        return access

    def _grant_of(self, token: str) -> Grant | None:
        """The grant of a refresh or access token (revoking either revokes the grant)."""
        grant = self._refresh_tokens.get(token)
        access = self._access_tokens.get(token)
        return access.grant if grant is None and access is not None else grant

    # -- Consent and code exchange ---------------------------------------------------------

    def _new_code(
        self,
        code: str,
        *,
        redirect_uri: str,
        scopes: list[str],
        challenge: str | None,
        challenge_method: str = "plain",
        offline: bool = True,
        nonce: str = "",
    ) -> str:
        with self._lock:
            self._codes[code] = AuthCode(
                redirect_uri=redirect_uri,
                scopes=list(scopes),
                challenge=challenge,
                challenge_method=challenge_method,
                expires_at=time.time() + self.code_lifetime.total_seconds(),
                offline=offline,
                nonce=nonce,
            )
        return code

    def _redeem_code(self, form: dict[str, str]) -> tuple[AuthCode | None, str]:
        """(the code, "") when `form` may exchange it, else (None, what is wrong: "code",
        "redirect_uri", "no_verifier" or "verifier"). A code is spent by the first try, even
        one that is wrong otherwise. Call with self._lock held."""
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or code.expires_at < time.time():
            return None, "code"
        code.used = True
        if form.get("redirect_uri") != code.redirect_uri:
            return None, "redirect_uri"
        if code.challenge:
            verifier = form.get("code_verifier")
            if not verifier:
                return None, "no_verifier"
            if pkce_challenge(verifier, code.challenge_method) != code.challenge:
                return None, "verifier"
        return code, ""

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        """POST token_path: (status, body)."""
        grant_type = form.get("grant_type", "")
        with self._lock:
            self.token_grants.append(grant_type)
        refused = self._refuse_client(form, authorization)
        if refused:
            return refused
        with self._lock:
            if grant_type == "authorization_code":
                return self._exchange_code(form)
            if grant_type == "refresh_token":
                return self._refresh(form)
        return self._unsupported_grant(grant_type)

    def _refuse_client(self, form: dict[str, str], authorization: str) -> tuple[int, dict] | None:
        raise NotImplementedError

    def _exchange_code(self, form: dict[str, str]) -> tuple[int, dict]:
        raise NotImplementedError

    def _refresh(self, form: dict[str, str]) -> tuple[int, dict]:
        raise NotImplementedError

    def _unsupported_grant(self, grant_type: str) -> tuple[int, dict]:
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": f"Invalid grant_type: {grant_type}",
        }


class FakeHandler(BaseHTTPRequestHandler):
    """Logs the request, answers a fault or waits out a latency, then hands over: the consent
    page to `fake.authorize`, the token endpoint to `fake.token`, the rest to `route`."""

    fake: FakeOAuthServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the vendors: clients reuse connections
    json_type = "application/json; charset=UTF-8"

    def setup(self) -> None:
        super().setup()
        # Answers go out as headers then body: without this, Nagle's algorithm holds the body
        # until the client's delayed ACK (~40 ms) on a kept-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path = parts.path
        query = flat(parse_qs(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if fake._stopped.is_set():
            # Stopped: a kept-alive connection must not keep answering like the vendor.
            self.close_connection = True
            return
        with fake._lock:
            fake.requests.append((method, path))
        fault = fake._take_fault(method, path)
        if fault and fault.hang:
            fake._stopped.wait(fake.hang_seconds)
            self.close_connection = True
            return
        if path == fake.token_path and fake.token_latency:
            time.sleep(fake.token_latency)
        elif path != fake.token_path and self.is_api(path) and fake.latency:
            time.sleep(fake.latency)
        if fault:
            return self.reply_fault(fault, path)
        if method == "GET" and path == fake.authorize_path:
            status, headers, page = fake.authorize(query)
            return self._send(status, page.encode(), "text/html; charset=utf-8", headers)
        if method == "POST" and path == fake.token_path:
            form = flat(parse_qs(raw.decode()))
            return self._reply(*fake.token(form, self.headers.get("Authorization", "")))
        return self.route(method, path, query, raw)

    def is_api(self, path: str) -> bool:
        """Whether `latency` delays this path's answers."""
        raise NotImplementedError

    def reply_fault(self, fault: Fault, path: str) -> None:
        raise NotImplementedError

    def route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> None:
        raise NotImplementedError

    def _reply(self, status: int, body: dict | None, headers: dict | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self._send(status, payload, self.json_type, headers or {})

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict) -> None:
        try:
            self.send_response(status)
            if payload or status != 204:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client gave up (a timeout test); the vendor would not notice either

    def log_message(self, format: str, *args) -> None:
        pass  # tests read fake.requests; the console stays quiet


def flat(parsed: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in parsed.items()}


def pkce_challenge(verifier: str, method: str) -> str:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return verifier


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client id, secret) from an HTTP Basic header, or None."""
    if not authorization.startswith("Basic "):
        return None
    client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
    return unquote(client_id), unquote(secret)


def redirect(redirect_uri: str, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """The consent page's answer: back to `redirect_uri` with `params` added to its query."""
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return 302, {"Location": urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))}, ""
