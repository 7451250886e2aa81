"""Fail closed: DEBUG is off unless asked for, and with DEBUG off the process refuses to start
without every secret that has a development default (issue 10, items 1-3).

Every environment below is loaded into a fresh import of the settings module in one child
process (a process per environment would cost a second each)."""

from __future__ import annotations

import json

import pytest

from receptionist.tests.settings_env import PRODUCTION_ENV, controlled_env, run_python

REQUIRED = ["SECRET_KEY", "FERNET_KEYS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]
DEVELOPMENT_DEFAULTS = {
    "TWILIO_AUTH_TOKEN": "dev-twilio-auth-token",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "SECRET_KEY": "dev-only-insecure-key-change-me-for-any-deployment",
    "FERNET_KEYS": "dev-only-fernet-key-not-for-any-deployment",
}
BLANKS = [
    ("SECRET_KEY", "   "),
    ("FERNET_KEYS", ""),
    ("FERNET_KEYS", " , "),
    ("TWILIO_AUTH_TOKEN", "\t"),
]
ROTATED_SECRET_KEY = "rotated-" + "Yp3@w8Kd%1nC" * 5

CASES: dict[str, dict[str, str | None]] = {
    "nothing set": {},
    "debug unset": {**PRODUCTION_ENV, "DEBUG": None},
    "production": PRODUCTION_ENV,
    "two fernet keys": {**PRODUCTION_ENV, "FERNET_KEYS": "new-key, old-key"},
    "secret key rotated": {**PRODUCTION_ENV, "SECRET_KEY": ROTATED_SECRET_KEY},
    "debug on": {"DEBUG": "true"},
    **{f"missing {name}": {**PRODUCTION_ENV, name: ""} for name in REQUIRED},
    **{f"blank {name} {value!r}": {**PRODUCTION_ENV, name: value} for name, value in BLANKS},
    **{
        f"default {name}": {**PRODUCTION_ENV, name: value}
        for name, value in DEVELOPMENT_DEFAULTS.items()
    },
}

LOAD_EACH = """
import importlib, json, os, sys
results = {}
for name, env in json.loads(sys.stdin.read()).items():
    os.environ.clear()
    os.environ.update(env)
    sys.modules.pop("receptionist.settings", None)
    try:
        s = importlib.import_module("receptionist.settings")
    except Exception as exc:
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    else:
        results[name] = {key: getattr(s, key) for key in (
            "DEBUG", "SECRET_KEY", "FERNET_KEYS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, dict]:
    envs = {name: controlled_env(env) for name, env in CASES.items()}
    result = run_python(LOAD_EACH, {}, stdin=json.dumps(envs))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(loaded: dict[str, dict], case: str) -> str:
    outcome = loaded[case]
    assert "error" in outcome, f"{case}: started with {outcome}"
    assert outcome["error"].startswith("ImproperlyConfigured: "), outcome["error"]
    return outcome["error"]


def test_an_unset_debug_means_off(loaded):
    assert loaded["debug unset"]["DEBUG"] is False


def test_with_nothing_set_the_process_refuses_to_start(loaded):
    assert "SECRET_KEY must be set" in refusal(loaded, "nothing set")


@pytest.mark.parametrize("missing", REQUIRED)
def test_each_secret_is_required_with_debug_off(loaded, missing):
    message = refusal(loaded, f"missing {missing}")

    assert f"{missing} must be set" in message and "DEBUG is off" in message


@pytest.mark.parametrize(("name", "value"), BLANKS)
def test_blank_secrets_are_refused(loaded, name, value):
    assert f"{name} must be set" in refusal(loaded, f"blank {name} {value!r}")


@pytest.mark.parametrize("name", DEVELOPMENT_DEFAULTS)
def test_a_development_default_typed_in_is_refused_with_debug_off(loaded, name):
    """Copying the development token into production is the same hole as leaving it unset:
    anyone who has read the source could sign webhooks."""
    assert f"{name} must be set" in refusal(loaded, f"default {name}")


def test_production_values_are_used_as_given(loaded):
    production = loaded["production"]

    assert production["DEBUG"] is False
    assert production["TWILIO_AUTH_TOKEN"] == PRODUCTION_ENV["TWILIO_AUTH_TOKEN"]
    assert production["FERNET_KEYS"] == [PRODUCTION_ENV["FERNET_KEYS"]]
    assert loaded["two fernet keys"]["FERNET_KEYS"] == ["new-key", "old-key"]


def test_debug_on_runs_with_development_secrets_and_encryption_is_not_tied_to_secret_key(
    loaded,
):
    development = loaded["debug on"]

    assert development["DEBUG"] is True
    assert development["SECRET_KEY"] and development["TWILIO_AUTH_TOKEN"]
    assert development["FERNET_KEYS"]
    assert development["SECRET_KEY"] not in development["FERNET_KEYS"]


def test_rotating_secret_key_leaves_the_encryption_keys_alone(loaded):
    rotated = loaded["secret key rotated"]

    assert rotated["SECRET_KEY"] == ROTATED_SECRET_KEY
    assert rotated["FERNET_KEYS"] == loaded["production"]["FERNET_KEYS"]
