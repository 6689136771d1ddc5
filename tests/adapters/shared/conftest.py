"""The real Redis 7 on 127.0.0.1:6379 (``redis-cli ping``). Each test gets its own key
and channel prefix (safe under pytest-xdist) and its keys are deleted afterwards.

Without a Redis these tests are skipped with the reason; with ``CI`` set they fail
instead, so CI never passes by skipping them (``.ci/run`` starts Redis first).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

REDIS_URL = os.environ.get("IMAGINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        reason = f"no Redis at {REDIS_URL} ({type(exc).__name__}): start redis-server"
        if os.environ.get("CI"):
            pytest.fail(f"Redis tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    await client.aclose()
    yield REDIS_URL


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """A key and channel prefix of this test's own; its keys are deleted after it."""
    mine = f"test:{uuid.uuid4().hex}:"
    yield mine
    client = Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{mine}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (a Redis that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
