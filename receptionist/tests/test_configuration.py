"""The configured infrastructure works: each `make test` pass checks its own (embedded default,
then Postgres + Redis)."""

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection


async def test_the_configured_channel_layer_delivers_a_message():
    layer = get_channel_layer()
    expected = "RedisChannelLayer" if settings.REDIS_URL else "InMemoryChannelLayer"
    assert type(layer).__name__ == expected
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "ping", "n": 1})
    assert await layer.receive(channel) == {"type": "ping", "n": 1}


@pytest.mark.django_db
def test_the_configured_database_answers():
    expected = "postgresql" if "postgres" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
