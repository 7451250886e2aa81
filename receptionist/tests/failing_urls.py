"""A URLconf with one view that fails while holding a credential-bearing URL in a local
variable, for the error-page tests."""

from django.conf import settings
from django.urls import path


def broken(request):
    broker = settings.REDIS_URL  # noqa: F841  (a local the traceback shows)
    hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]  # noqa: F841
    raise RuntimeError("the channel layer is down")


urlpatterns = [path("broken/", broken)]
