"""Races between attempts and between requests sharing a route (found in review)."""

import asyncio

from bot.breaker import BreakerPolicy
from bot.domain import GenerationRequest, Outcome, ProviderImage
from bot.errors import ProviderOverloaded, ProviderServerError
from bot.health import HealthState
from bot.router import RouterPolicy
from tests.bot.fakes import PNG, make_router

A, B = "gemini-3-pro-image", "gemini-nano-banana-2.1"
REQ = GenerationRequest("x")


class ServerErrorThenHealthy:
    """A: 0.3 s then 500 (until healed); B: an image after 0.15 s."""

    channel = "fake"

    def __init__(self) -> None:
        self.healthy = False
        self.calls: list[str] = []

    async def generate(self, *, model, request):  # type: ignore[no-untyped-def]
        self.calls.append(model.id)
        if model.id == A and not self.healthy:
            await asyncio.sleep(0.3)
            raise ProviderServerError("boom", model=A, status=500)
        await asyncio.sleep(0.15 if model.id == B else 0)
        return ProviderImage(PNG + model.id.encode(), "image/png")

    async def aclose(self) -> None:
        pass


async def test_a_retry_cancelled_in_its_pause_does_not_hold_the_probe_slot() -> None:
    p = ServerErrorThenHealthy()
    router = make_router(
        p, chain=(A, B), breaker=BreakerPolicy(open_s=0.05), policy=RouterPolicy(retry_base_s=0.5)
    )
    router.board[A].trip(hold_s=0)
    await asyncio.sleep(0.06)  # half-open: the next request probes A
    first = await router.generate(REQ)  # probe → 500 → retry pausing → hedge B wins
    assert first.model == B
    assert [a.outcome for a in first.attempts if a.model == A] == [Outcome.SERVER_ERROR]
    assert first.spent_usd == first.cost_usd  # the never-sent retry is not billed
    p.healthy = True
    await asyncio.sleep(0.1)
    later = [await router.generate(REQ) for _ in range(3)]
    assert later[-1].model == A  # the probe slot was freed; A came back
    assert router.board[A].state() is HealthState.NORMAL


async def test_the_deadline_during_a_retry_pause_frees_the_probe_slot() -> None:
    p = ServerErrorThenHealthy()
    router = make_router(
        p,
        chain=(A,),
        breaker=BreakerPolicy(open_s=0.05),
        policy=RouterPolicy(retry_base_s=5.0, hedge=False),
    )
    router.board[A].trip(hold_s=0)
    await asyncio.sleep(0.06)
    try:
        await router.generate(REQ, deadline_s=0.5)
    except Exception as exc:  # the deadline: all models failed
        assert type(exc).__name__ == "AllModelsFailed"
    assert router.board[A].breaker.admit() is not None


class SameTick:
    """A fails and B succeeds on the same event-loop tick."""

    channel = "fake"

    def __init__(self) -> None:
        self.go = asyncio.Event()

    async def generate(self, *, model, request):  # type: ignore[no-untyped-def]
        if model.id == B:
            self.go.set()
        await self.go.wait()
        if model.id == A:
            raise ProviderOverloaded("503", model=A, status=503)
        return ProviderImage(PNG, "image/png")

    async def aclose(self) -> None:
        pass


async def test_attempts_finishing_together_keep_their_own_outcomes() -> None:
    for _ in range(20):  # set order is arbitrary: try both orders
        router = make_router(SameTick(), chain=(A, B))  # A waits until the hedge starts B
        result = await router.generate(REQ)
        outcomes = {a.model: a.outcome for a in result.attempts}
        assert outcomes == {A: Outcome.OVERLOADED, B: Outcome.OK}
        assert result.fallback_reason == "overloaded" and result.spent_usd == result.cost_usd
