"""Provider pacing across processes: two pacers (two processes, two Redis links) on
the real Redis never let more than ``rpm`` calls a minute through together; with
Redis down each paces alone, says so once, and never holds a call up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.shared import RedisLink, SharedPacer
from bot.pacing import LocalPacer


@pytest.fixture
async def links(redis_url: str, prefix: str) -> AsyncIterator[tuple[RedisLink, RedisLink]]:
    a, b = RedisLink(redis_url, prefix=prefix), RedisLink(redis_url, prefix=prefix)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_two_processes_together_never_exceed_rpm(
    links: tuple[RedisLink, RedisLink], redis_url: str, prefix: str
) -> None:
    a, b = (SharedPacer(link, LocalPacer()) for link in links)
    calls = [p.take("google:gemini-3-pro-image", rpm=30) for _ in range(40) for p in (a, b)]
    taken = await asyncio.gather(*calls)  # 80 at once, interleaved
    assert sum(taken) == 30
    assert sum(taken[0::2]) > 0 and sum(taken[1::2]) > 0  # both processes got some
    assert await a.take("openai:gpt-image-2.6-sunburst", rpm=30)  # another route: its own
    assert all(await asyncio.gather(*(b.take("x", rpm=0) for _ in range(50))))  # not paced
    client = Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}pace*")]
        ttls = [await client.ttl(k) for k in keys]
        assert ttls and all(0 < ttl <= 60 for ttl in ttls)  # they expire with the window
    finally:
        await client.aclose()


async def test_redis_down_paces_each_process_alone_and_says_so_once(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    link = RedisLink(f"redis://127.0.0.1:{closed_port}/0", timeout_s=0.5)
    pacer = SharedPacer(link, LocalPacer())
    try:
        t0 = time.monotonic()
        taken = [await pacer.take("google:gemini-3-pro-image", rpm=2) for _ in range(4)]
        assert taken == [True, True, False, False]  # the limit still holds, per process
        assert time.monotonic() - t0 < 2.0  # never held up for long
        down = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(down) == 1 and "pacing" in down[0].getMessage()
        assert down[0].levelno == logging.WARNING
    finally:
        await link.aclose()
