"""The LLM engine's tests: a fake OpenAI-compatible server on loopback, our real model client
(calls/dialogue/llm/client.py) pointed at it, and the Demo Salon on a frozen Wednesday.

Now is Wednesday 2026-11-25 10:00 in New York: Thursday the 26th is 'tomorrow', the salon is
open Mon-Fri 9-18 and Sat 10-16, closed Sunday.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from calls.dialogue.llm.client import close_clients
from calls.tests.conversation import demo_business
from calls.tests.llm.fake_openai import FakeOpenAI

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
async def fake(settings):
    """The model server, with the LLM_* settings pointing at it."""
    with FakeOpenAI() as server:
        settings.LLM_BASE_URL = server.base_url
        settings.LLM_API_KEY = server.api_key
        settings.LLM_MODEL = "fake-model"
        settings.LLM_TIMEOUT_SECONDS = 2.0
        settings.LLM_MAX_RETRIES = 1
        settings.LLM_FILLER_AFTER_SECONDS = 0.8
        yield server
        await close_clients()
    assert not server.unexpected, "the engine asked the model more than the test scripted"


@pytest.fixture
async def demo(transactional_db):
    with time_machine.travel(NOW, tick=True):
        yield await demo_business()
