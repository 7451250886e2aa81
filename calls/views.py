"""Twilio's voice webhooks: check the signature, parse the form, call one service, answer TwiML.

Twilio reads any answer other than valid TwiML as "an application error has occurred" to the
caller, so once a request is known to come from Twilio every path answers TwiML: an unknown
business hears an apology, an unknown call is hung up.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from functools import wraps

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
)
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.models import Business
from bookings.orm import unique_row
from calls import twiml
from calls.services import (
    SessionEnd,
    close_call_from_session_end,
    engine_for,
    record_incoming_call,
    record_transfer_result,
)
from calls.twilio_signature import public_url, request_signature_valid, websocket_url

logger = logging.getLogger(__name__)

# The CallSid goes into the WebSocket path of the TwiML: nothing that could end or reshape
# that path (slashes, "?", "#", "..") gets through. Twilio's are "CA" + 32 hex digits.
CALL_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
HANDOFF_PROBLEM_EXCERPT = 200


def twilio_webhook(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """POST only; no CSRF token (Twilio has no session); 403 unless Twilio signed it."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            request.POST  # noqa: B018 -- parse now: a broken body is a 400, not a 500 later
        except MultiPartParserError:
            return HttpResponseBadRequest("Malformed form body.")
        if not request_signature_valid(request):
            logger.warning(
                "Rejected a voice webhook without a valid Twilio signature: %s", request.path
            )
            return HttpResponseForbidden("Invalid Twilio signature.")
        return view(request, *args, **kwargs)

    return checked


def twiml_response(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml; charset=utf-8")


@twilio_webhook
def incoming(request: HttpRequest, slug: str) -> HttpResponse:
    """A call to a business's number: record it and connect it to ConversationRelay."""
    call_sid = request.POST.get("CallSid", "")
    if not CALL_SID.fullmatch(call_sid):
        return HttpResponseBadRequest("Missing or malformed CallSid.")
    business = unique_row(
        Business.objects.filter(slug=slug, is_active=True).select_related("receptionist_settings")
    )
    if business is None:
        logger.warning("Call %s to unknown or inactive business %r", call_sid, slug)
        return twiml_response(twiml.not_taking_calls())

    record_incoming_call(
        business=business,
        call_sid=call_sid,
        from_number=request.POST.get("From", "")[:32],
        to_number=request.POST.get("To", "")[:32],
        engine=engine_for(business).name,
    )
    return twiml_response(
        twiml.conversation_relay(
            business=business,
            services=business.active_services(),
            socket_url=websocket_url(f"/ws/voice/{slug}/{call_sid}/"),
            action_url=public_url(reverse("calls:session_ended", args=[slug])),
        )
    )


@twilio_webhook
def session_ended(request: HttpRequest, slug: str) -> HttpResponse:
    """The <Connect action> request: the ConversationRelay session is over. Close the Call and
    hang up, or put the caller through to the business's transfer number."""
    handoff, problem = parse_handoff_data(request.POST.get("HandoffData", ""))
    end = SessionEnd(
        call_sid=request.POST.get("CallSid", ""),
        status=request.POST.get("SessionStatus", ""),
        handoff=handoff,
        handoff_problem=problem,
        error_code=request.POST.get("ErrorCode", ""),
        error_message=request.POST.get("ErrorMessage", ""),
    )
    closed = close_call_from_session_end(business_slug=slug, end=end)
    if closed.transfer_to:
        return twiml_response(
            twiml.dial(
                closed.transfer_to,
                caller_id=closed.caller_id,
                action_url=public_url(reverse("calls:dial_ended", args=[slug])),
            )
        )
    return twiml_response(twiml.hangup())


@twilio_webhook
def dial_ended(request: HttpRequest, slug: str) -> HttpResponse:
    """The <Dial action> request: the transfer to the business's number is over. When
    nobody answered, the caller hears so and the staff are told who called."""
    unanswered = record_transfer_result(
        business_slug=slug,
        call_sid=request.POST.get("CallSid", ""),
        dial_status=request.POST.get("DialCallStatus", ""),
    )
    return twiml_response(twiml.nobody_answered() if unanswered else twiml.hangup())


def parse_handoff_data(raw: str) -> tuple[dict[str, str] | None, str]:
    """(handoff, problem): our `end` message's handoffData as a dict of strings, or None with
    the reason it could not be used ("" when none was sent). Never raises: a garbled handoff
    means no handoff, and the call still ends cleanly."""
    if not raw.strip():
        return None, ""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
        logger.warning("HandoffData is not JSON: %.200r", raw)
        return None, f"HandoffData is not JSON: {raw[:HANDOFF_PROBLEM_EXCERPT]}"
    if not isinstance(data, dict):
        logger.warning("HandoffData is not a JSON object: %.200r", raw)
        return None, f"HandoffData is not a JSON object: {raw[:HANDOFF_PROBLEM_EXCERPT]}"
    return {key: value for key, value in data.items() if isinstance(value, str)}, ""
