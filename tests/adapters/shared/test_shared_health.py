"""Two "processes" (two routers, each with its own health board and Redis link) in
one test process, joined through the real Redis: a trip on one is applied on the
other within a second, a recovery too, and Redis being down never stops an image."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest

from adapters.shared import RedisHealthBus, RedisLink
from adapters.shared.claims import RedisClaims
from bot.breaker import BreakerPolicy, BreakerState
from bot.domain import GenerationRequest
from bot.errors import ProviderOverloaded
from bot.health import HealthState
from bot.router import Router
from bot.shared_health import SharedHealth
from tests.bot.fakes import ScriptedProvider, make_router

PRO, FLASH = "gemini-3-pro-image", "gemini-nano-banana-2.1"
REQ = GenerationRequest(prompt="a red fox in snow")


@dataclass
class Proc:
    router: Router
    provider: ScriptedProvider
    link: RedisLink

    def state(self, label: str = PRO) -> HealthState:
        return self.router.board[label].state()


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as s:
        yield s


async def spawn(
    stack: AsyncExitStack,
    url: str,
    prefix: str,
    *,
    open_s: float = 60.0,
    retry_s: float = 1.0,
    claims: bool = True,
) -> Proc:
    provider = ScriptedProvider()
    link = RedisLink(url, prefix=prefix, timeout_s=0.5)
    probes = RedisClaims(link) if claims else None
    router = make_router(provider, breaker=BreakerPolicy(open_s=open_s), probes=probes)
    stack.push_async_callback(link.aclose)
    shared = SharedHealth(router.board, RedisHealthBus(link, retry_s=retry_s))
    await stack.enter_async_context(shared)
    return Proc(router, provider, link)


async def listening(proc: Proc, n: int) -> None:
    """Until ``n`` processes are subscribed to the health channel."""
    channel = proc.link.channel("health")
    for _ in range(200):
        counts = dict(await proc.link.client.pubsub_numsub(channel))
        if counts.get(channel.encode(), 0) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the processes never subscribed")


async def until(check: Callable[[], bool], within_s: float) -> float:
    """Seconds until ``check()`` holds; fails after ``within_s``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"not within {within_s} s")
        await asyncio.sleep(0.005)
    return time.monotonic() - start


async def force_down(proc: Proc) -> float:
    """The primary fails every call on ``proc`` until its breaker trips; when it did."""
    tripped: list[float] = []
    proc.router.board.on_breaker(lambda news: tripped.append(time.monotonic()))
    proc.provider.then[PRO] = ProviderOverloaded(model=PRO)
    for _ in range(6):
        result = await proc.router.generate(REQ)
        assert result.model == FLASH  # the user still gets an image
        if tripped:
            return tripped[0]
    raise AssertionError("the primary never tripped")


async def test_a_trip_on_one_process_stops_the_others_calling_the_primary_within_a_second(
    stack: AsyncExitStack, redis_url: str, prefix: str
) -> None:
    a = await spawn(stack, redis_url, prefix)
    b = await spawn(stack, redis_url, prefix)
    await listening(a, 2)
    assert (await b.router.generate(REQ)).model == PRO

    tripped_at = await force_down(a)
    await until(lambda: b.state() is HealthState.DOWN, within_s=1.0)
    assert time.monotonic() - tripped_at < 1.0

    for _ in range(3):
        assert (await b.router.generate(REQ)).model == FLASH
    assert b.provider.count(PRO) == 1  # only the call before the trip
    breaker = b.router.board[PRO].breaker
    assert breaker.state is BreakerState.OPEN
    assert breaker.run() == 0  # no failure counted here: the trip was the other's
    assert b.router.board[PRO].last_failure == "overloaded"  # why, for the status page


async def test_a_recovery_on_one_process_closes_the_breaker_on_the_others(
    stack: AsyncExitStack, redis_url: str, prefix: str
) -> None:
    a = await spawn(stack, redis_url, prefix, open_s=0.2)  # probes soon
    b = await spawn(stack, redis_url, prefix, open_s=60.0)  # would wait a minute alone
    await listening(a, 2)
    await force_down(a)
    await until(lambda: b.state() is HealthState.DOWN, within_s=1.0)

    a.provider.then[PRO] = None  # the model is back
    await asyncio.sleep(0.25)
    assert (await a.router.generate(REQ)).model == PRO  # a's probe closes its breaker
    took = await until(lambda: b.state() is HealthState.NORMAL, within_s=1.0)
    assert took < 1.0
    assert (await b.router.generate(REQ)).model == PRO


@pytest.mark.parametrize("claims", [True, False])
async def test_one_process_probes_a_down_model_each_interval_not_every_process(
    stack: AsyncExitStack, redis_url: str, prefix: str, claims: bool
) -> None:
    """Three processes share a trip, so their open periods end together; with the
    probe claimed in Redis one of them probes, the others wait another interval."""
    procs = [await spawn(stack, redis_url, prefix, open_s=0.3, claims=claims) for _ in range(3)]
    await listening(procs[0], 3)
    for p in procs:
        p.provider.then[PRO] = ProviderOverloaded(model=PRO)
    await force_down(procs[0])
    for p in procs[1:]:
        await until(lambda p=p: p.state() is HealthState.DOWN, within_s=1.0)
    before = sum(p.provider.count(PRO) for p in procs)
    await asyncio.sleep(0.35)  # every breaker is half-open: each would probe
    results = await asyncio.gather(*(p.router.generate(REQ) for p in procs))
    assert all(r.model == FLASH for r in results)  # the primary is still down
    probes = sum(p.provider.count(PRO) for p in procs) - before
    assert probes == (1 if claims else 3)


async def test_bots_on_two_databases_of_one_redis_do_not_share_trips(
    stack: AsyncExitStack, redis_url: str, prefix: str
) -> None:
    """Pub/sub channels are server-wide in Redis; the database number keeps two bots'
    news apart (``/0`` and ``/1`` on one server)."""
    base = redis_url.rsplit("/", 1)[0]
    a = await spawn(stack, f"{base}/0", prefix)
    b = await spawn(stack, f"{base}/1", prefix)
    same = await spawn(stack, f"{base}/0", prefix)
    await listening(a, 2)
    await force_down(a)
    await until(lambda: same.state() is HealthState.DOWN, within_s=1.0)
    assert b.state() is HealthState.NORMAL
    assert (await b.router.generate(REQ)).model == PRO


async def test_a_process_that_starts_during_an_outage_knows_at_once(
    stack: AsyncExitStack, redis_url: str, prefix: str
) -> None:
    a = await spawn(stack, redis_url, prefix)
    await force_down(a)
    await asyncio.sleep(0.05)  # the trip is published
    late = await spawn(stack, redis_url, prefix)
    await until(lambda: late.state() is HealthState.DOWN, within_s=1.0)
    assert (await late.router.generate(REQ)).model == FLASH
    assert late.provider.count(PRO) == 0


async def test_with_redis_down_images_are_still_made_and_one_warning_is_logged(
    stack: AsyncExitStack, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.shared")
    url = f"redis://127.0.0.1:{closed_port}/0"
    alone = await spawn(stack, url, "down:", retry_s=0.05)
    assert (await alone.router.generate(REQ)).model == PRO
    await force_down(alone)  # per-process health still trips the primary
    assert alone.state() is HealthState.DOWN
    await asyncio.sleep(0.3)  # the listener has retried several times meanwhile
    for _ in range(3):
        assert (await alone.router.generate(REQ)).model == FLASH
    warnings = [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("adapters")
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert f"127.0.0.1:{closed_port}/0 is unavailable" in warnings[0].getMessage()


async def test_sharing_resumes_when_redis_comes_back(
    stack: AsyncExitStack, redis_url: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis of this test's own, started only after the processes found it down."""
    caplog.set_level(logging.INFO, logger="adapters.shared")
    url = f"redis://127.0.0.1:{closed_port}/0"
    a = await spawn(stack, url, "back:", retry_s=0.05)
    b = await spawn(stack, url, "back:", retry_s=0.05)
    await until(lambda: a.link.down and b.link.down, within_s=2.0)
    server = await asyncio.create_subprocess_exec(
        "redis-server", "--port", str(closed_port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await until(lambda: not a.link.down and not b.link.down, within_s=5.0)
        await listening(a, 2)
        await force_down(a)
        await until(lambda: b.state() is HealthState.DOWN, within_s=1.0)
        said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("adap")]
    finally:
        server.terminate()
        await server.wait()
    assert [lvl for lvl, _ in said].count("WARNING") == 2  # once per process, not per retry
    assert sum(lvl == "INFO" and "is back:" in m for lvl, m in said) == 2, said
