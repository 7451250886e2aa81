"""Headless Chromium for tests of pages staff use: Debian's own, never a downloaded one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Where tests leave the screenshots people look at (the worktree's var/, git-ignored).
SCREENSHOTS = settings.VAR_DIR / "screenshots"


def chromium_or_skip() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        problem = f"Playwright is not installed ({exc})"
    else:
        if CHROMIUM.exists():
            return
        problem = f"{CHROMIUM} is missing (this test never downloads a browser)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(problem + " -- required under CI=true.")
    pytest.skip(problem)


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sideways_overflow(page) -> int:
    """How many CSS pixels the page, or admin's scrollable list of results inside it, is
    wider than what shows (0: nothing to scroll sideways)."""
    return page.evaluate(
        """() => Math.max(0, ...[document.documentElement,
                                 ...document.querySelectorAll("#changelist .results")]
                                 .map(box => box.scrollWidth - box.clientWidth))"""
    )
