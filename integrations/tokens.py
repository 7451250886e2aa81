"""Fernet-encrypted OAuth tokens for every calendar integration (Google, Calendly, ...).

A token is encrypted with the first of FERNET_KEYS and read with any of them
(`manage.py rotate_fernet_keys` re-encrypts every such field). A stored token that the current
keys cannot open loads as UNREADABLE_TOKEN, so pages still render and say "reconnect".
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from fernet_fields import EncryptedTextField


class _UnreadableToken:
    """A stored token the current FERNET_KEYS cannot decrypt (a key was removed or changed).
    Falsy, so nothing takes it for a token; the row still loads, so every page can say what
    is wrong and a reconnect can overwrite it."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<unreadable token>"


UNREADABLE_TOKEN = _UnreadableToken()


class TokenField(EncryptedTextField):
    """A Fernet-encrypted token that reads as UNREADABLE_TOKEN instead of raising InvalidToken
    wherever its row is loaded (admin lists, the business page, the connect callback)."""

    def from_db_value(self, value, expression, connection, *args):
        try:
            return super().from_db_value(value, expression, connection, *args)
        except InvalidToken:
            return UNREADABLE_TOKEN

    def get_db_prep_save(self, value, connection):
        if value is UNREADABLE_TOKEN:
            raise ValueError("An unreadable token is never written back: reconnect instead.")
        return super().get_db_prep_save(value, connection)

    def deconstruct(self):
        # The same column and the same bytes as the library's field; only reading a value
        # that won't decrypt differs, so migrations keep naming the library's field.
        name, _path, args, kwargs = super().deconstruct()
        return name, "fernet_fields.fields.EncryptedTextField", args, kwargs
