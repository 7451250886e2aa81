"""Key rotation: `manage.py rotate_fernet_keys` moves every secret to the first key, so old
keys can be dropped; a key that opens nothing fails loudly and never yields ciphertext."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db

from bookings.tests.factories import BusinessFactory
from integrations.google_calendar import connections
from integrations.google_calendar.client import CalendarClient
from integrations.google_calendar.management.commands.rotate_fernet_keys import (
    encrypted_fields,
)
from integrations.google_calendar.models import UNREADABLE_TOKEN, GoogleCalendarConnection
from integrations.google_calendar.tests.connected import connect_business

pytestmark = pytest.mark.django_db

OLD_KEY = "the-old-fernet-key-2019"
NEW_KEY = "the-new-fernet-key-2026"
STRANGER_KEY = "a-key-that-never-encrypted-anything"


def raw_columns(pk: int) -> tuple[bytes | None, bytes | None]:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, access_token FROM google_calendar_googlecalendarconnection "
            "WHERE id = %s",
            [pk],
        )
        return tuple(bytes(v) if v is not None else None for v in cursor.fetchone())


def rotate() -> str:
    out = StringIO()
    call_command("rotate_fernet_keys", stdout=out)
    return out.getvalue()


def test_every_encrypted_field_is_found_from_the_models():
    found = {model: [f.name for f in fields] for model, fields in encrypted_fields()}

    assert found[GoogleCalendarConnection] == ["refresh_token", "access_token"]


def test_rotation_moves_every_secret_to_the_new_key(use_keys, business, fake_google):
    use_keys(OLD_KEY)
    connection = connect_business(business, fake_google)
    refresh_token, access_token = connection.refresh_token, connection.access_token
    before = raw_columns(connection.pk)

    use_keys(NEW_KEY, OLD_KEY)
    report = rotate()

    assert "google_calendar.GoogleCalendarConnection: re-encrypted 2 value(s) in 1 row(s); " in (
        report
    )
    assert "2 were under an older key" in report
    after = raw_columns(connection.pk)
    assert after[0] != before[0] and after[1] != before[1]

    use_keys(NEW_KEY)  # the old key is gone
    reloaded = GoogleCalendarConnection.objects.get(pk=connection.pk)
    assert (reloaded.refresh_token, reloaded.access_token) == (refresh_token, access_token)
    assert CalendarClient(reloaded).primary_calendar_id() == "owner@example.com"


def test_rotating_twice_is_harmless(use_keys, business, fake_google):
    use_keys(OLD_KEY)
    connection = connect_business(business, fake_google)
    use_keys(NEW_KEY, OLD_KEY)
    rotate()

    report = rotate()

    assert "re-encrypted 2 value(s) in 1 row(s); 0 were under an older key" in report
    use_keys(NEW_KEY)
    assert GoogleCalendarConnection.objects.get(pk=connection.pk).refresh_token == (
        connection.refresh_token
    )


def test_missing_tokens_stay_missing(use_keys, business, fake_google):
    use_keys(OLD_KEY)
    connection = connect_business(business, fake_google)
    connections.wipe_tokens(connection=connection)

    use_keys(NEW_KEY, OLD_KEY)
    report = rotate()

    assert "re-encrypted 0 value(s) in 0 row(s)" in report
    assert raw_columns(connection.pk) == (None, None)


def test_the_command_reads_the_current_keys_even_when_the_fields_cached_old_ones(
    settings, use_keys, business, fake_google
):
    use_keys(OLD_KEY)
    connection = connect_business(business, fake_google)
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]  # changed without dropping the fields' caches

    rotate()

    use_keys(NEW_KEY)
    assert GoogleCalendarConnection.objects.get(pk=connection.pk).access_token == (
        connection.access_token
    )


def test_a_wrong_key_never_yields_ciphertext_and_marks_the_tokens_unreadable(
    use_keys, business, fake_google
):
    use_keys(OLD_KEY)
    connect_business(business, fake_google)

    use_keys(STRANGER_KEY)
    connection = connections.connection_for(business)

    assert connection.refresh_token is UNREADABLE_TOKEN
    assert connection.access_token is UNREADABLE_TOKEN
    assert connection.tokens_unreadable and not connection.is_usable


def test_rotation_stops_with_nothing_changed_when_a_row_cannot_be_decrypted(use_keys, fake_google):
    use_keys(OLD_KEY)
    good = connect_business(BusinessFactory(), fake_google)
    use_keys(STRANGER_KEY)
    lost = connect_business(BusinessFactory(), fake_google)
    later = connect_business(BusinessFactory(), fake_google)
    before = {c.pk: raw_columns(c.pk) for c in (good, lost, later)}

    use_keys(NEW_KEY, OLD_KEY)  # STRANGER_KEY is not among them: `lost` and `later` are lost
    with pytest.raises(CommandError) as failure:
        rotate()

    message = str(failure.value)
    assert "InvalidToken" in message and "Nothing was changed" in message
    assert "google_calendar.GoogleCalendarConnection" in message
    assert f"pk={lost.pk} field=refresh_token" in message
    assert f"pk={later.pk} field=access_token" in message
    assert f"pk={good.pk} " not in message
    # All or nothing: even the row that could be rotated is untouched.
    assert {c.pk: raw_columns(c.pk) for c in (good, lost, later)} == before
