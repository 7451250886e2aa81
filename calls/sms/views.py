"""Twilio's Messaging webhook: a customer texted a business's number."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from twilio.twiml.messaging_response import MessagingResponse

from bookings.models import Business
from calls.sms.replies import handle_incoming
from calls.views import twilio_webhook

logger = logging.getLogger(__name__)


def messaging_response(reply: str = "") -> HttpResponse:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


@twilio_webhook
def incoming(request: HttpRequest, slug: str) -> HttpResponse:
    """Signed like the voice webhooks (403 and nothing stored otherwise); answers TwiML,
    with a text back when the customer's word did something."""
    message_sid = request.POST.get("MessageSid", "")
    from_number = request.POST.get("From", "")[:32]
    if not message_sid or not from_number:
        return HttpResponse("Missing MessageSid or From.", status=400)
    business = Business.objects.filter(slug=slug).first()
    if business is None:
        logger.warning("Text %s to unknown business %r ignored.", message_sid, slug)
        return messaging_response()
    handled = handle_incoming(
        business=business,
        message_sid=message_sid[:64],
        from_number=from_number,
        body=request.POST.get("Body", ""),
        opt_out_type=request.POST.get("OptOutType", ""),
    )
    return messaging_response(handled.reply if handled else "")
