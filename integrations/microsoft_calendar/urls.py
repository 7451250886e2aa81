"""Connect / choose a calendar / disconnect (included under /admin/outlook-calendar/).

The callback's path is the redirect URI registered in Microsoft Entra:
PUBLIC_BASE_URL + /admin/outlook-calendar/callback/.
"""

from django.urls import path

from integrations.microsoft_calendar import views

app_name = "microsoft_calendar"

urlpatterns = [
    path("callback/", views.callback, name="callback"),
    path("<int:business_id>/connect/", views.connect, name="connect"),
    path("<int:business_id>/calendars/", views.calendars, name="calendars"),
    path("<int:business_id>/disconnect/", views.disconnect, name="disconnect"),
]
