"""What error pages and error reports may show: Django's SafeExceptionReporterFilter, plus the
credentials inside URLs (redis://:password@host, postgres://user:password@host), wherever they
turn up: settings, request data and a traceback's local variables."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

# scheme://userinfo@ ; the userinfo (user, password or a token) is what is hidden.
CREDENTIALS_IN_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"]+@")


def mask_url_credentials(text: str) -> str:
    return CREDENTIALS_IN_URL.sub(
        r"\1" + SafeExceptionReporterFilter.cleansed_substitute + "@", text
    )


class CredentialMaskingFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key, value):
        # Django recurses into dicts, lists and tuples through this method, so the strings at
        # every level come here.
        value = super().cleanse_setting(key, value)
        return mask_url_credentials(value) if isinstance(value, str) else value

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self._masked(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def _masked(self, value):
        if isinstance(value, str):
            return mask_url_credentials(value)
        if isinstance(value, dict):
            return {key: self._masked(item) for key, item in value.items()}
        if type(value) in (list, tuple, set, frozenset):
            return type(value)(self._masked(item) for item in value)
        # Any other object: shown by its repr, so that is what gets checked.
        try:
            shown = repr(value)
        except Exception:  # a broken __repr__ must not break the error page
            return value
        masked = mask_url_credentials(shown)
        return value if masked == shown else masked
