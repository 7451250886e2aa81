from django.contrib import admin
from django.urls import include, path

from receptionist import views

admin.site.site_header = "Receptionist"
admin.site.site_title = "Receptionist admin"
admin.site.index_title = "Businesses, bookings and calls"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("docs/<path:name>", views.doc, name="doc"),
    # Before admin/: admin's catch-all would otherwise answer these paths.
    path("admin/google-calendar/", include("integrations.google_calendar.urls")),
    path("admin/calendly/", include("integrations.calendly.urls")),
    path("admin/outlook-calendar/", include("integrations.microsoft_calendar.urls")),
    path("admin/", admin.site.urls),
    path("simulator/", include("calls.simulator.urls")),
    path("", include("calls.urls")),
]
