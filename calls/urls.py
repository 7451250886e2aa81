"""Twilio's voice and messaging webhooks; the slug in the path says which business."""

from django.urls import path

from calls import views
from calls.sms import views as sms_views

app_name = "calls"

urlpatterns = [
    path("voice/incoming/<slug:slug>/", views.incoming, name="incoming"),
    path("voice/session-ended/<slug:slug>/", views.session_ended, name="session_ended"),
    path("voice/dial-ended/<slug:slug>/", views.dial_ended, name="dial_ended"),
    path("sms/incoming/<slug:slug>/", sms_views.incoming, name="sms_incoming"),
]
