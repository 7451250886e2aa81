"""SMS backends: one registry, chosen by settings.SMS_BACKEND ("console" by default).

A backend does two things: send a text, and find a text it may already have sent (sending
is not idempotent at Twilio, so after an ambiguous failure we look before sending again).
Failures come out as one of three errors, because what to do next depends only on which:

- SmsRejected: the provider definitively refused (invalid number...). Never retry.
- SmsNotSent: it definitively did not go out (rate limited, bad credentials). Retry freely.
- SmsOutcomeUnknown: it may have gone out (timeout, connection reset, 5xx). Look it up
  before any retry.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

logger = logging.getLogger(__name__)


class SmsError(Exception):
    pass


class SmsRejected(SmsError):
    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SmsNotSent(SmsError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SmsOutcomeUnknown(SmsError):
    pass


@dataclass(frozen=True)
class Sender:
    """Who a text comes from: a number we own, or a Twilio messaging service."""

    from_number: str = ""
    messaging_service_sid: str = ""

    def __str__(self) -> str:
        return self.from_number or self.messaging_service_sid


@dataclass(frozen=True)
class SentSms:
    sid: str
    status: str


class SmsBackend:
    """Base class. Subclasses set `name` and implement both methods."""

    name: ClassVar[str]

    def send(self, *, to: str, body: str, sender: Sender) -> SentSms:
        """Send `body` to `to` (E.164). Raises SmsRejected, SmsNotSent or SmsOutcomeUnknown."""
        raise NotImplementedError

    def find_sent(self, *, to: str, body: str, since: datetime) -> SentSms | None:
        """The text with exactly this body sent to `to` since `since`, if there is one.
        Raises SmsNotSent when the provider cannot be asked right now."""
        raise NotImplementedError


SMS_BACKENDS: dict[str, type[SmsBackend]] = {}


def register_backend(backend_class: type[SmsBackend]) -> type[SmsBackend]:
    SMS_BACKENDS[backend_class.name] = backend_class
    return backend_class


def get_backend() -> SmsBackend:
    key = settings.SMS_BACKEND
    try:
        backend_class = SMS_BACKENDS[key]
    except KeyError:
        # Raised, not defaulted: falling back to the console would silently stop texting
        # customers. The task retries and shows this error in admin.
        raise ImproperlyConfigured(
            f"SMS_BACKEND={key!r} is not one of {sorted(SMS_BACKENDS)}."
        ) from None
    return backend_class()


# -- Console: development and tests ----------------------------------------------------------


@dataclass(frozen=True)
class ConsoleSms:
    sid: str
    to: str
    sender: str
    body: str
    sent_at: datetime


# What the console backend "sent", newest last (bounded: a dev server runs for days).
console_outbox: deque[ConsoleSms] = deque(maxlen=1000)
_console_lock = threading.Lock()


@register_backend
class ConsoleSmsBackend(SmsBackend):
    """Logs the text and keeps it in `console_outbox`. Nothing leaves the machine."""

    name = "console"

    def send(self, *, to: str, body: str, sender: Sender) -> SentSms:
        with _console_lock:
            sms = ConsoleSms(
                sid=f"SMconsole{len(console_outbox) + 1:024d}",
                to=to,
                sender=str(sender),
                body=body,
                sent_at=timezone.now(),
            )
            console_outbox.append(sms)
        logger.info("SMS (console backend) from %s to %s: %s", sms.sender, to, body)
        return SentSms(sid=sms.sid, status="sent")

    def find_sent(self, *, to: str, body: str, since: datetime) -> SentSms | None:
        with _console_lock:
            for sms in reversed(console_outbox):
                if sms.to == to and sms.body == body and sms.sent_at >= since:
                    return SentSms(sid=sms.sid, status="sent")
        return None


# -- Twilio ------------------------------------------------------------------------------------

TWILIO_API_BASE_URL = "https://api.twilio.com"
# Twilio statuses that mean "refused before it went anywhere" are 4xx, except these, which a
# later attempt can get past (our credentials fixed, the rate limit window over).
RETRYABLE_4XX = {401, 408, 429}
# The two shapes of an HTTP error answer (legacy and RFC 9457); both carry status and code.
TwilioHttpError = (TwilioRestException, TwilioServiceException)
# How far the lookup reaches back before the first attempt: our clock and Twilio's differ.
CLOCK_SKEW = timedelta(minutes=5)
LOOKUP_LIMIT = 20


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending what it addresses to api.twilio.com to `base_url`
    instead (settings.TWILIO_API_BASE_URL: a fake in tests, a staging double)."""

    def __init__(self, base_url: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if self.base_url and url.startswith(TWILIO_API_BASE_URL):
            url = self.base_url + url[len(TWILIO_API_BASE_URL) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client() -> Client:
    http_client = BaseUrlHttpClient(
        settings.TWILIO_API_BASE_URL,
        timeout=settings.TWILIO_HTTP_TIMEOUT,
    )
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)


@register_backend
class TwilioSmsBackend(SmsBackend):
    name = "twilio"

    def __init__(self) -> None:
        self.client = twilio_client()

    def send(self, *, to: str, body: str, sender: Sender) -> SentSms:
        route = (
            {"messaging_service_sid": sender.messaging_service_sid}
            if sender.messaging_service_sid
            else {"from_": sender.from_number}
        )
        try:
            message = self.client.messages.create(to=to, body=body, **route)
        except TwilioHttpError as exc:
            raise _classify(exc) from exc
        except requests.ConnectTimeout as exc:
            # Never connected, so nothing was sent.
            raise SmsNotSent(f"Could not connect to Twilio: {exc}") from exc
        except requests.RequestException as exc:
            # A read timeout or a reset after the request went out: Twilio may have it.
            raise SmsOutcomeUnknown(f"No answer from Twilio: {type(exc).__name__}: {exc}") from exc
        except TwilioException as exc:
            raise SmsOutcomeUnknown(f"Twilio client error: {exc}") from exc
        return SentSms(sid=message.sid, status=message.status or "")

    def find_sent(self, *, to: str, body: str, since: datetime) -> SentSms | None:
        # Filtered by recipient only, newest first: Twilio's DateSent filters compare the
        # send date, which is empty while a message is still queued, exactly when a
        # lost answer is most likely. The date is checked here against date_created.
        try:
            recent = self.client.messages.list(to=to, limit=LOOKUP_LIMIT)
        except TwilioHttpError as exc:
            raise SmsNotSent(f"Could not look the text up: {_describe(exc)}") from exc
        except (requests.RequestException, TwilioException) as exc:
            raise SmsNotSent(f"Could not look the text up: {type(exc).__name__}") from exc
        earliest = since - CLOCK_SKEW
        for message in recent:
            created = message.date_created
            if message.body == body and (created is None or created >= earliest):
                return SentSms(sid=message.sid, status=message.status or "")
        return None


def _classify(exc: TwilioRestException | TwilioServiceException) -> SmsError:
    description = _describe(exc)
    if exc.status >= 500:
        return SmsOutcomeUnknown(description)
    if exc.status in RETRYABLE_4XX:
        return SmsNotSent(description)
    return SmsRejected(description, code=exc.code)


def _describe(exc: TwilioRestException | TwilioServiceException) -> str:
    # Their str() carries ANSI colours and the full URI; keep the facts.
    code = f" {exc.code}" if exc.code and exc.code != exc.status else ""
    message = getattr(exc, "msg", "") or getattr(exc, "detail", "") or getattr(exc, "title", "")
    return f"Twilio HTTP {exc.status}{code}: {message}"
