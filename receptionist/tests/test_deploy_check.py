"""Django's deployment check is clean with the README's production settings (issue 10,
item 4): HSTS, the https redirect, secure cookies and the proxy header come from the
environment, with the safe side as default when DEBUG is off."""

from __future__ import annotations

import json

from receptionist.tests.settings_env import PRODUCTION_ENV, run_manage, run_python


def test_check_deploy_is_clean_with_the_readme_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_debug_off_defaults_to_https_only_and_trusts_the_proxy_header_only_when_told():
    shown = """
import json
from receptionist import settings as s
print(json.dumps({name: getattr(s, name, None) for name in (
    "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER")}))
"""
    behind_proxy = run_python(shown, PRODUCTION_ENV)
    no_proxy = run_python(shown, {**PRODUCTION_ENV, "SECURE_PROXY_SSL_HEADER": None})

    assert behind_proxy.returncode == 0, behind_proxy.stderr
    assert json.loads(behind_proxy.stdout) == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    assert json.loads(no_proxy.stdout)["SECURE_PROXY_SSL_HEADER"] is None
