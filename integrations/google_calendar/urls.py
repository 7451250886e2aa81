"""Connect / choose calendars / disconnect (included under /admin/google-calendar/).

The callback's path is the redirect URI registered with Google:
PUBLIC_BASE_URL + /admin/google-calendar/callback/.
"""

from django.urls import path

from integrations.google_calendar import views

app_name = "google_calendar"

urlpatterns = [
    path("callback/", views.callback, name="callback"),
    path("<int:business_id>/connect/", views.connect, name="connect"),
    path("<int:business_id>/calendars/", views.calendars, name="calendars"),
    path("<int:business_id>/disconnect/", views.disconnect, name="disconnect"),
]
