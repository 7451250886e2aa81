"""`manage.py rotate_fernet_keys`: re-encrypt every secret under the first of FERNET_KEYS.

Rotating a key: put the new key first in FERNET_KEYS and keep the old ones after it, run this
command, then drop the old keys. Every encrypted field of every model is found through the
models' own field definitions (any fernet EncryptedField), so a new secret elsewhere is
rotated too without touching this file.

All or nothing: every value is decrypted first; if any cannot be decrypted with any key, the
command stops with the model and primary keys and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, models, router, transaction
from fernet_fields import EncryptedField

# django-fernet-fields caches the keys on each field instance the first time it is used.
CACHED_KEY_ATTRIBUTES = ("keys", "fernet_keys", "fernet")


def encrypted_fields() -> list[tuple[type[models.Model], list[EncryptedField]]]:
    """(model, its encrypted fields) for every installed model that has any. Fields are
    taken where they are stored (local fields), so an inherited table is not done twice."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        fields = [f for f in model._meta.local_concrete_fields if isinstance(f, EncryptedField)]
        if fields:
            found.append((model, fields))
    return found


def forget_cached_fernet_keys() -> None:
    """Make every encrypted field read FERNET_KEYS again on its next use. Needed whenever the
    setting changes in a running process (this command, tests that override the setting)."""
    for _model, fields in encrypted_fields():
        for encrypted in fields:
            for name in CACHED_KEY_ATTRIBUTES:
                encrypted.__dict__.pop(name, None)


@dataclass
class ModelRotation:
    label: str
    rows: int = 0
    values: int = 0
    from_older_keys: int = 0
    undecryptable: list[str] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the first key of FERNET_KEYS, so older keys "
        "can be dropped. All or nothing: an undecryptable value stops it with nothing changed."
    )

    def handle(self, *args, **options) -> None:
        forget_cached_fernet_keys()
        rotations = []
        with transaction.atomic():
            for model, fields in encrypted_fields():
                rotations.append(self._rotate(model, fields))
            broken = [r for r in rotations if r.undecryptable]
            if broken:
                # Raising inside atomic() rolls back whatever was already re-encrypted.
                details = "; ".join(f"{r.label}: {', '.join(r.undecryptable)}" for r in broken)
                raise CommandError(
                    "Some values cannot be decrypted with any key in FERNET_KEYS (InvalidToken). "
                    f"Nothing was changed. Add the key they were encrypted with. {details}"
                )
        for rotation in rotations:
            self.stdout.write(
                f"{rotation.label}: re-encrypted {rotation.values} value(s) in {rotation.rows} "
                f"row(s); {rotation.from_older_keys} were under an older key."
            )
        if not rotations:
            self.stdout.write("No model has encrypted fields.")
        total = sum(r.values for r in rotations)
        self.stdout.write(self.style.SUCCESS(f"Done: {total} value(s) now use the first key."))

    def _rotate(self, model: type[models.Model], fields: list[EncryptedField]) -> ModelRotation:
        rotation = ModelRotation(label=model._meta.label)
        # Every field was built from the same settings, so any one holds the keys.
        multi = fields[0].fernet
        first = Fernet(fields[0].fernet_keys[0])
        for pk, raw in self._ciphertexts(model, fields):
            plain: dict[str, str | None] = {}
            for encrypted, token in zip(fields, raw, strict=True):
                if token is None:
                    continue
                token = bytes(token)
                try:
                    value = multi.decrypt(token)
                except InvalidToken:
                    rotation.undecryptable.append(f"pk={pk} field={encrypted.name}")
                    continue
                try:
                    first.decrypt(token)
                except InvalidToken:
                    rotation.from_older_keys += 1
                plain[encrypted.name] = encrypted.to_python(value.decode())
            if rotation.undecryptable or not plain:
                continue
            # update() encrypts through the field with the first key; it skips save() and
            # auto_now, so rotating changes no timestamp and runs no signal.
            model._base_manager.filter(pk=pk).update(**plain)
            rotation.rows += 1
            rotation.values += len(plain)
        return rotation

    @staticmethod
    def _ciphertexts(model, fields):
        """(pk, raw ciphertexts) per row, read with SQL: the ORM would decrypt them, and a
        value no key opens would then fail without saying which row it is."""
        connection = connections[router.db_for_read(model)]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in [model._meta.pk, *fields])
        sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} ORDER BY 1"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql)
            for row in cursor.fetchall():
                yield row[0], row[1:]
