"""The TwiML documents our voice webhooks answer with, built with Twilio's own helper.

The helper escapes attribute values and text, so caller- or staff-entered text (greetings,
service names) cannot break the XML.
"""

from __future__ import annotations

from collections.abc import Iterable

from twilio.twiml.voice_response import Connect, VoiceResponse

from bookings.models import Business, Service

LANGUAGE = "en-US"
NOT_TAKING_CALLS = "Sorry, this number is not taking calls right now. Goodbye."
NOBODY_ANSWERED = (
    "Sorry, nobody could take your call right now. We've let the team know you called, "
    "and they'll get back to you. Goodbye."
)


def speech_hints(services: Iterable[Service]) -> str:
    """Service names and the words callers use for them, comma-separated and without repeats:
    speech-to-text gets salon and clinic vocabulary ("balayage", "root canal") right."""
    hints: list[str] = []
    seen: set[str] = set()
    for service in services:
        for word in (service.name, *service.synonym_list):
            # A comma inside a name would split it into two hints.
            word = " ".join(word.replace(",", " ").split())
            if word and word.casefold() not in seen:
                seen.add(word.casefold())
                hints.append(word)
    return ",".join(hints)


def conversation_relay(
    *, business: Business, services: Iterable[Service], socket_url: str, action_url: str
) -> str:
    """Hand the call to ConversationRelay; Twilio requests `action_url` when the session ends."""
    response = VoiceResponse()
    connect = Connect(action=action_url)
    connect.conversation_relay(
        url=socket_url,
        welcome_greeting=business.welcome_greeting,
        # Callers often start talking over the greeting ("hi, I need a haircut"), and may press
        # keys instead of speaking: both stop our speech and reach the dialogue.
        welcome_greeting_interruptible="any",
        interruptible="any",
        dtmf_detection=True,
        language=LANGUAGE,
        hints=speech_hints(services) or None,
    )
    response.append(connect)
    return str(response)


def not_taking_calls() -> str:
    response = VoiceResponse()
    response.say(NOT_TAKING_CALLS)
    response.hangup()
    return str(response)


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def dial(number: str, *, caller_id: str, action_url: str = "") -> str:
    """Put the caller through; Twilio requests `action_url` (DialCallStatus) when the
    dialled call ends, so an unanswered transfer is noticed."""
    response = VoiceResponse()
    response.dial(number, caller_id=caller_id or None, action=action_url or None)
    return str(response)


def nobody_answered() -> str:
    response = VoiceResponse()
    response.say(NOBODY_ANSWERED)
    response.hangup()
    return str(response)
