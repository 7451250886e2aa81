"""Outlook's tokens under FERNET_KEYS like Google's: rotated by `manage.py rotate_fernet_keys`,
and a key that no longer opens them makes the connection say "Needs reconnect" while calls
still get answers from our own bookings."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from bookings.providers.base import BookingContext
from bookings.providers.registry import resolve_provider
from bookings.tests.factories import ServiceFactory
from bookings.tests.timeutil import local, upcoming
from integrations.google_calendar.management.commands.rotate_fernet_keys import (
    encrypted_fields,
    forget_cached_fernet_keys,
)
from integrations.microsoft_calendar.client import GraphClient
from integrations.microsoft_calendar.models import OutlookCalendarConnection
from integrations.microsoft_calendar.templatetags.outlook_calendar_admin import status_text
from integrations.microsoft_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db(transaction=True)

OLD_KEY, NEW_KEY = "the-old-fernet-key-2019", "the-new-fernet-key-2026"


@pytest.fixture
def use_keys(settings):
    def switch(*keys: str) -> None:
        settings.FERNET_KEYS = list(keys)
        forget_cached_fernet_keys()

    yield switch
    forget_cached_fernet_keys()


def test_outlook_tokens_are_among_the_encrypted_fields():
    found = {model: [f.name for f in fields] for model, fields in encrypted_fields()}
    assert found[OutlookCalendarConnection] == ["refresh_token", "access_token"]


def test_rotation_moves_outlook_tokens_to_the_new_key(use_keys, business, fake_microsoft):
    use_keys(OLD_KEY)
    connection = connect_business(business, fake_microsoft)
    use_keys(NEW_KEY, OLD_KEY)
    out = StringIO()
    call_command("rotate_fernet_keys", stdout=out)
    assert "microsoft_calendar.OutlookCalendarConnection: re-encrypted 2 value(s)" in out.getvalue()

    use_keys(NEW_KEY)  # the old key is gone: everything still opens
    connection = OutlookCalendarConnection.objects.get(pk=connection.pk)
    assert GraphClient(connection).account_address() == "owner@example.com"


async def test_tokens_no_key_opens_need_a_reconnect_and_calls_go_on(
    use_keys, business, fake_microsoft
):
    from asgiref.sync import sync_to_async

    use_keys(OLD_KEY)
    await sync_to_async(connect_business)(business, fake_microsoft)
    haircut = await sync_to_async(ServiceFactory)(business=business, duration_minutes=30)
    tuesday = await sync_to_async(upcoming)(business, 1)
    fake_microsoft.add_event(local(business, tuesday, 15), local(business, tuesday, 16))
    use_keys(NEW_KEY)

    provider = await sync_to_async(resolve_provider)(business)
    start = local(business, tuesday, 15)
    answer = await provider.check_availability(
        BookingContext(
            business=business, service=haircut, start=start, end=start + haircut.duration
        )
    )

    assert answer.available  # our own bookings decide; nothing was asked of Graph
    assert fake_microsoft.count("GET", "/v1.0/me/calendarView") == 0
    connection = await OutlookCalendarConnection.objects.aget(business=business)
    assert "cannot be decrypted" in connection.last_error
    assert status_text(connection).startswith("Needs reconnect")
