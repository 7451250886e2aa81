"""What the landing page and /healthz report: can this process reach its database and its
channel layer, and is an outbox worker alive. Failures name the part and the kind of error,
never connection strings or credentials (the full error goes to the log)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone

from bookings import heartbeat

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT = 2.0
VENDORS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
LAYERS = {"InMemoryChannelLayer": "in-memory, this process only", "RedisChannelLayer": "Redis"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # A failing critical check makes /healthz answer 503 (a load balancer takes this
    # process out). The worker is not critical for that: a dead worker delays texts and
    # calendar events, while pulling every web process would drop the calls themselves.
    critical: bool = True


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.exception("Health check: database unreachable.")
        return Check("database", False, f"unreachable ({type(exc).__name__})")
    return Check("database", True, VENDORS.get(connection.vendor, connection.vendor))


async def _round_trip() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("health.")
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("the layer returned another message")
    return type(layer).__name__


def channel_layer() -> Check:
    async def bounded() -> str:
        return await asyncio.wait_for(_round_trip(), CHANNEL_LAYER_TIMEOUT)

    try:
        kind = async_to_sync(bounded)()
    except Exception as exc:
        logger.exception("Health check: channel layer failed a round trip.")
        return Check("channel layer", False, f"no round trip ({type(exc).__name__})")
    return Check("channel layer", True, LAYERS.get(kind, kind))


def worker() -> Check:
    try:
        beat = heartbeat.latest()
    except Exception as exc:
        logger.exception("Health check: could not read the worker heartbeat.")
        return Check("worker", False, f"unknown ({type(exc).__name__})", critical=False)
    if beat is None:
        return Check("worker", False, "no run_worker has reported in", critical=False)
    age = int((timezone.now() - beat.seen_at).total_seconds())
    if not heartbeat.is_fresh(beat):
        return Check("worker", False, f"last heartbeat {age} s ago", critical=False)
    return Check("worker", True, f"heartbeat {age} s ago", critical=False)


def all_checks() -> list[Check]:
    return [database(), channel_layer(), worker()]


def healthy(checks: list[Check]) -> bool:
    return all(check.ok for check in checks if check.critical)
