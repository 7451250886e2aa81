"""Secrets never on error pages (issue 10, item 5): a password inside a URL (REDIS_URL, the
channel layer's hosts, a database URL) is masked on DEBUG's technical 500 page, in the
settings it lists and in the traceback's variables."""

from __future__ import annotations

import pytest
from django.test import Client

REDIS_PASSWORD = "redis-pa55word-4f1e"
DB_PASSWORD = "db-pa55word-77c2"
TOKEN_IN_URL = "tok3n-in-url-9a0b"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"


@pytest.fixture
def debug_500(settings):
    settings.DEBUG = True
    settings.ROOT_URLCONF = "receptionist.tests.failing_urls"
    settings.REDIS_URL = REDIS_URL
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # Anything like them: a URL setting under any name.
    settings.REPLICA_URL = f"postgres://reader:{DB_PASSWORD}@db.internal:5432/receptionist"
    settings.WEBHOOK_MIRROR = f"https://{TOKEN_IN_URL}@mirror.example.com/hook"

    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    return response.content.decode()


def test_the_debug_500_page_shows_no_password(debug_500):
    assert "the channel layer is down" in debug_500  # it is the technical page
    for secret in (REDIS_PASSWORD, DB_PASSWORD, TOKEN_IN_URL):
        assert secret not in debug_500


def test_the_urls_are_still_shown_without_their_credentials(debug_500):
    assert "redis://********************@127.0.0.1:6379/0" in debug_500
    assert "postgres://********************@db.internal:5432/receptionist" in debug_500
