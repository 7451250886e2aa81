"""Twilio's voice webhooks. The business slug in the path says which business was called."""

from django.urls import path

from calls import views

app_name = "calls"

urlpatterns = [
    path("voice/incoming/<slug:slug>/", views.incoming, name="incoming"),
    path("voice/session-ended/<slug:slug>/", views.session_ended, name="session_ended"),
    path("voice/dial-ended/<slug:slug>/", views.dial_ended, name="dial_ended"),
]
