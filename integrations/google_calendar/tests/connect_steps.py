"""The connect flow as a staff member walks it, through the Django test client and the fake
Google's consent redirect (a real HTTP request to the fake, as the browser would make)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from bookings.models import Business

PASSWORD = "a-long-test-password-1"


def staff_member(username: str = "frontdesk", *, may_change: bool = True) -> User:
    """A staff login (not a superuser) who may see businesses, and change them if asked."""
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    codenames = ["view_business", "view_googlecalendarconnection"]
    if may_change:
        codenames.append("change_business")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def logged_in(user: User, **client_options) -> Client:
    client = Client(**client_options)
    client.force_login(user)
    return client


def business_page(business: Business) -> str:
    return reverse("admin:bookings_business_change", args=[business.pk])


def start_connect(client: Client, business: Business) -> str:
    """Click "Connect Google Calendar": our view answers with a redirect to Google."""
    response = client.get(reverse("google_calendar:connect", args=[business.pk]))
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def consent(consent_url: str) -> str:
    """Google's consent screen: the fake redirects straight back. Returns our callback's
    path and query, as the browser would follow it."""
    answer = requests.get(consent_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text[:500]
    return local_path(answer.headers["Location"])


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(path: str, **changes: str) -> str:
    query = query_of(path) | changes
    return urlsplit(path).path + "?" + urlencode(query)


def connect(client: Client, business: Business):
    """The whole consent round trip; returns the callback's response (not followed)."""
    return client.get(consent(start_connect(client, business)))
