"""A live call does not depend on the channel layer (Redis in production): nothing sends to
its socket through it, so a layer that fails cannot end it."""

from __future__ import annotations

import pytest
from channels.layers import InMemoryChannelLayer

from calls.tests.test_relay_consumer import (
    answer,
    connected_call,
    prompt,
    scripted_engine,
    spoken,
)

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["scripted_engine"]  # the autouse fixture, here too


class FailingLayer(InMemoryChannelLayer):
    """What channels_redis does when Redis stops answering in time."""

    async def receive(self, channel: str):
        raise TimeoutError("Timeout reading from 127.0.0.1:6379")


async def test_a_call_goes_on_when_the_channel_layer_fails(salon, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "calls.tests.test_relay_channel_layer.FailingLayer"}
    }
    communicator = await connected_call(salon, "CAnolayer")
    for words in ("a haircut on Friday", "at 3:30 please"):
        await communicator.send_json_to(prompt(words))
        assert spoken(await answer(communicator)) == f"You said: {words}. Anything else?"
    await communicator.disconnect()
