"""Dependencies (issue 10, item 13): the runtime set and the development set are separate
files, each pinning the whole tree with hashes, and this environment is what they pin."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
TOOLING = {"pytest", "pytest-django", "pytest-asyncio", "factory-boy", "ruff", "playwright"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def compiled(filename: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for each requirement of a compiled file."""
    pins: dict[str, tuple[str, int]] = {}
    text = (ROOT / filename).read_text()
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(entry.strip())
        if match:
            pins[normalized(match[1])] = (match[2], entry.count("--hash=sha256:"))
        else:
            assert entry.startswith("#"), f"{filename}: not a pinned requirement: {entry[:80]!r}"
    return pins


def top_level(filename: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / filename).read_text().splitlines():
        match = PIN.match(re.sub(r"\[[^]]*\]", "", line))
        if match:
            pins[normalized(match[1])] = match[2]
    return pins


def test_every_package_is_pinned_with_hashes():
    for filename in ("requirements.txt", "requirements-dev.txt"):
        pins = compiled(filename)
        assert pins
        unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
        assert not unhashed, f"{filename}: no hashes for {unhashed}"


def test_the_compiled_files_keep_the_chosen_versions():
    runtime, dev = compiled("requirements.txt"), compiled("requirements-dev.txt")
    for name, version in top_level("requirements.in").items():
        assert runtime[name][0] == version, name
    for name, version in top_level("requirements-dev.in").items():
        assert dev[name][0] == version, name
    # The development set is constrained to the runtime pins: one version of each package.
    for name in runtime.keys() & dev.keys():
        assert runtime[name][0] == dev[name][0], name


def test_production_installs_no_test_tooling():
    assert not TOOLING & compiled("requirements.txt").keys()
    assert compiled("requirements-dev.txt").keys() >= TOOLING


def test_this_environment_is_what_the_files_pin():
    pins = compiled("requirements.txt") | compiled("requirements-dev.txt")
    drift = {
        name: (version, metadata.version(name))
        for name, (version, _) in pins.items()
        if metadata.version(name) != version
    }
    assert not drift, f"installed versions differ from the pins (pinned, installed): {drift}"
