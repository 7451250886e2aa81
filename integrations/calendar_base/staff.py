"""Who may connect a calendar, and the admin-looking pages the connect views answer with."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from bookings.models import Business

CHANGE_BUSINESS = "bookings.change_business"


def may_connect(user) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(CHANGE_BUSINESS))


def staff_who_may_change_businesses(view: Callable) -> Callable:
    """Anyone else gets 403 (or the login page when signed out)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not may_connect(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


def business_page(business: Business) -> str:
    return reverse("admin:bookings_business_change", args=[business.pk])


def admin_page(
    request: HttpRequest, template: str | list[str], context: dict, *, status: int = 200
):
    return render(request, template, {**admin.site.each_context(request), **context}, status=status)
