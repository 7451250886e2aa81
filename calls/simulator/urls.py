"""The simulator page (included at /simulator/ by the project urls)."""

from django.urls import path

from calls.simulator import views

app_name = "simulator"

urlpatterns = [
    path("", views.simulator, name="page"),
]
