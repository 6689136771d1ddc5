"""The router with the real SDK-backed providers against the sandbox on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from adapters.providers import GeminiProvider, OpenAIImagesProvider
from adapters.sandbox import Fault, Sandbox
from bot.catalog import load_catalog
from bot.domain import GenerationRequest, Outcome
from bot.errors import AllModelsFailed, RequestRefused, SafetyBlocked
from bot.health import HealthBoard, HealthState
from bot.router import Route, Router, RouterPolicy

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
LATENCY = {PRO: 0.15, FLASH: 0.05, GPT: 0.1}
REQ = GenerationRequest("a lighthouse at dusk")


@pytest.fixture
async def world() -> AsyncIterator[tuple[Sandbox, Router]]:
    async with Sandbox(seed=3, image_px=64) as sb:
        for model, seconds in LATENCY.items():
            sb.set_latency(model, seconds)
        google = GeminiProvider("google", api_key="k", base_url=sb.gemini_base_url)
        oai = OpenAIImagesProvider("openai", api_key="k", base_url=sb.openai_base_url)
        catalog = load_catalog()
        board = HealthBoard(time.monotonic)
        routes = []
        for model_id, provider in ((PRO, google), (FLASH, google), (GPT, oai)):
            spec = replace(catalog.models[model_id], latency_s=LATENCY[model_id], timeout_s=10)
            board.add(
                model_id,
                model=model_id,
                channel=provider.channel,
                typical_latency_s=LATENCY[model_id],
            )
            routes.append(Route(model_id, spec, provider))
        router = Router(routes, board=board, policy=RouterPolicy(deadline_s=5))
        try:
            yield sb, router
        finally:
            await router.aclose()


async def test_retry_info_from_the_wire_holds_the_breaker(world) -> None:
    sb, router = world
    sb.script(PRO, [Fault("rate_limited", retry_after=30)])
    first = await router.generate(REQ)
    assert first.model == FLASH and first.fallback_reason == "rate_limited"
    assert router.board[PRO].breaker.held and router.board[PRO].breaker.reopens_in > 25
    second = await router.generate(REQ)
    assert second.attempts[0].outcome is Outcome.SKIPPED
    assert len(sb.calls_for(PRO)) == 1  # the vendor asked for 30 s of quiet and got it


async def test_hung_primary_is_hedged_then_bypassed(world) -> None:
    sb, router = world
    for _ in range(6):  # learn the normal latency
        assert (await router.generate(REQ)).model == PRO
    sb.script(PRO, [Fault("hang")])
    started = time.monotonic()
    hedged = await router.generate(REQ)
    assert time.monotonic() - started < 1.0  # 1.5 × p95 ≈ 0.25 s, then flash ≈ 0.05 s
    assert hedged.model == FLASH and hedged.fallback_reason == "delayed"
    assert router.board[PRO].state() is HealthState.DELAYED
    started = time.monotonic()
    bypassed = await router.generate(REQ)
    # not waited for: the hung primary only gets a probe, hedged at once and left to
    # finish in the background (the first one after it is back brings it back)
    assert bypassed.model == FLASH and time.monotonic() - started < 0.25
    assert [str(a.outcome) for a in bypassed.attempts if a.model == PRO] == ["background"]


async def test_overload_then_safety_block_stops_the_chain(world) -> None:
    sb, router = world
    sb.script(PRO, [Fault("overloaded")])
    sb.script(FLASH, [Fault("image_safety")])
    with pytest.raises(RequestRefused) as info:
        await router.generate(REQ)
    assert isinstance(info.value.cause, SafetyBlocked)
    assert [a.outcome for a in info.value.attempts] == [Outcome.OVERLOADED, Outcome.SAFETY_BLOCKED]
    assert sb.calls_for(GPT) == []


async def test_deadline_over_slow_models(world) -> None:
    sb, router = world
    for model in LATENCY:
        sb.script(model, [Fault("hang")])
    started = time.monotonic()
    with pytest.raises(AllModelsFailed) as info:
        await router.generate(REQ, deadline_s=0.6)
    assert info.value.deadline_exceeded and time.monotonic() - started < 1.5
