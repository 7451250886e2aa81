"""The simulator page: staff pick a business and talk to its receptionist in the browser."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bookings.models import Business
from calls.simulator.access import may_simulate

DEFAULT_BUSINESS = "demo"
# The socket's path; the page appends "<slug>/" (see calls/simulator/routing.py).
SOCKET_PATH = "/ws/simulator/"


@staff_member_required
def simulator(request: HttpRequest) -> HttpResponse:
    if not may_simulate(request.user):
        raise PermissionDenied
    businesses = list(Business.objects.filter(is_active=True).only("name", "slug"))
    slugs = [business.slug for business in businesses]
    wanted = request.GET.get("business", DEFAULT_BUSINESS)
    selected = wanted if wanted in slugs else (slugs[0] if slugs else "")
    return render(
        request,
        "calls/simulator.html",
        {
            **admin.site.each_context(request),
            "title": "Try the receptionist",
            "businesses": businesses,
            "selected": selected,
            "socket_path": SOCKET_PATH,
        },
    )
