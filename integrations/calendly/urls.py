"""Connect / map services / disconnect (included under /admin/calendly/).

The callback's path is the redirect URI registered with Calendly:
PUBLIC_BASE_URL + /admin/calendly/callback/.
"""

from django.urls import path

from integrations.calendly import views

app_name = "calendly"

urlpatterns = [
    path("callback/", views.callback, name="callback"),
    path("<int:business_id>/connect/", views.connect, name="connect"),
    path("<int:business_id>/event-types/", views.event_types_view, name="event_types"),
    path("<int:business_id>/disconnect/", views.disconnect, name="disconnect"),
]
