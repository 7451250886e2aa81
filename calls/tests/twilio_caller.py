"""Twilio's side of a phone call, played against a running server over real HTTP and WebSocket.

    caller = TwilioCaller(public_base_url=..., auth_token=..., account_sid=...)
    answer = caller.ring("demo", call_sid=..., from_=..., to=...)   # the voice webhook
    with caller.open_relay(answer.relay.url) as relay:                # ConversationRelay
        relay.setup(call_sid=..., from_=..., to=...)
        reply = relay.say("I'd like a haircut")                       # streamed text tokens
        end = relay.expect_end()
    caller.end_session(answer.action, call_sid=..., handoff_data=end["handoffData"])

Every request is signed the way Twilio signs it (X-Twilio-Signature over the public URL and
the form; over the socket URL as given and no parameters for the handshake), unless a test
passes its own `signature` to forge one. The frames follow Twilio's ConversationRelay docs.
"""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests
from twilio.request_validator import RequestValidator
from websockets.sync.client import ClientConnection, connect

API_VERSION = "2010-04-01"
HTTP_TIMEOUT = 10
FRAME_TIMEOUT = 10


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


@dataclass(frozen=True)
class RelayElement:
    """The <ConversationRelay> noun: its attributes as written in the TwiML."""

    url: str
    attributes: dict[str, str]

    @property
    def welcome_greeting(self) -> str:
        return self.attributes.get("welcomeGreeting", "")

    @property
    def hints(self) -> list[str]:
        return [h for h in self.attributes.get("hints", "").split(",") if h]


@dataclass(frozen=True)
class ConnectTwiml:
    """A voice webhook's answer of <Response><Connect action><ConversationRelay/></Connect>."""

    action: str
    relay: RelayElement

    @classmethod
    def parse(cls, document: str) -> ConnectTwiml:
        root = ET.fromstring(document)
        assert root.tag == "Response", document
        connect_element = root.find("Connect")
        assert connect_element is not None, f"no <Connect> in {document}"
        relay = connect_element.find("ConversationRelay")
        assert relay is not None, f"no <ConversationRelay> in {document}"
        return cls(
            action=connect_element.attrib["action"],
            relay=RelayElement(url=relay.attrib["url"], attributes=dict(relay.attrib)),
        )


@dataclass
class Answer:
    """One answer of the receptionist, as the `text` frames carried it."""

    tokens: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.tokens).strip()


class RelaySocket:
    """An open ConversationRelay WebSocket, from Twilio's end."""

    def __init__(self, connection: ClientConnection, account_sid: str) -> None:
        self.connection = connection
        self.account_sid = account_sid
        self.session_id = "VX" + secrets.token_hex(16)

    def send(self, frame: dict) -> None:
        self.connection.send(json.dumps(frame))

    def receive(self, timeout: float = FRAME_TIMEOUT) -> dict:
        return json.loads(self.connection.recv(timeout=timeout))

    def setup(self, *, call_sid: str, from_: str, to: str, custom_parameters=None) -> None:
        self.send(
            {
                "type": "setup",
                "sessionId": self.session_id,
                "callSid": call_sid,
                "parentCallSid": "",
                "accountSid": self.account_sid,
                "from": from_,
                "to": to,
                "forwardedFrom": to,
                "callerName": "",
                "direction": "inbound",
                "callType": "PSTN",
                "callStatus": "RINGING",
                "customParameters": custom_parameters or {},
            }
        )

    def say(self, words: str) -> Answer:
        """The caller's final transcript, then the answer's text frames up to last=true."""
        self.send({"type": "prompt", "voicePrompt": words, "lang": "en-US", "last": True})
        answer = Answer()
        while True:
            frame = self.receive()
            assert frame.get("type") == "text", f"expected a text frame, got {frame}"
            assert isinstance(frame.get("token"), str) and isinstance(frame.get("last"), bool)
            if frame["token"]:
                answer.tokens.append(frame["token"])
            if frame["last"]:
                return answer

    def expect_end(self) -> dict:
        frame = self.receive()
        assert frame.get("type") == "end", f"expected the end of the session, got {frame}"
        return frame


class TwilioCaller:
    """`reach`: where requests really go when that is not the public URL itself, as a load
    balancer in front of several processes picks one; signatures stay over the public URL."""

    def __init__(
        self, *, public_base_url: str, auth_token: str, account_sid: str, reach: str = ""
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.reach = reach.rstrip("/")
        self.account_sid = account_sid
        self.validator = RequestValidator(auth_token)
        self.http = requests.Session()

    def _routed(self, url: str) -> str:
        if not self.reach:
            return url
        for public, target in (
            (self.public_base_url, self.reach),
            (_as_websocket(self.public_base_url), _as_websocket(self.reach)),
        ):
            if url.startswith(public):
                return target + url[len(public) :]
        return url

    def signature(self, url: str, params: dict[str, str] | None = None) -> str:
        return self.validator.compute_signature(url, params or {})

    def post(
        self, path_or_url: str, params: dict[str, str], *, signature: str | None = None
    ) -> requests.Response:
        """A signed form POST to a public URL (or a path under PUBLIC_BASE_URL)."""
        url = path_or_url if "://" in path_or_url else self.public_base_url + path_or_url
        signed = self.signature(url, params) if signature is None else signature
        return self.http.post(
            self._routed(url),
            data=params,
            headers={"X-Twilio-Signature": signed, "User-Agent": "TwilioProxy/1.1"},
            timeout=HTTP_TIMEOUT,
            allow_redirects=False,
        )

    def incoming_params(self, *, call_sid: str, from_: str, to: str) -> dict[str, str]:
        return {
            "CallSid": call_sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
        }

    def ring(self, slug: str, *, call_sid: str, from_: str, to: str) -> ConnectTwiml:
        response = self.post(
            f"/voice/incoming/{slug}/",
            self.incoming_params(call_sid=call_sid, from_=from_, to=to),
        )
        assert response.status_code == 200, (response.status_code, response.text[:500])
        assert response.headers["Content-Type"].startswith("text/xml")
        return ConnectTwiml.parse(response.text)

    @contextmanager
    def open_relay(self, url: str, *, signature: str | None = None) -> Iterator[RelaySocket]:
        """Open the socket at `url` exactly as the TwiML wrote it (raises on a refused
        handshake: websockets.exceptions.InvalidStatus)."""
        signed = self.signature(url) if signature is None else signature
        with connect(
            self._routed(url),
            additional_headers={"X-Twilio-Signature": signed},
            open_timeout=HTTP_TIMEOUT,
        ) as connection:
            yield RelaySocket(connection, self.account_sid)

    def end_session(
        self, action_url: str, *, call_sid: str, handoff_data: str, duration_seconds: int = 30
    ) -> requests.Response:
        """The <Connect action> request Twilio makes once the session is over."""
        return self.post(
            action_url,
            {
                "AccountSid": self.account_sid,
                "CallSid": call_sid,
                "SessionId": "VX" + secrets.token_hex(16),
                "SessionStatus": "completed",
                "SessionDuration": str(duration_seconds),
                "HandoffData": handoff_data,
            },
        )


def _as_websocket(http_url: str) -> str:
    return "ws" + http_url.removeprefix("http")
