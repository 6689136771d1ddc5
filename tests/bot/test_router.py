"""Router behaviour over the ImageProvider port (SDK paths: tests/adapters)."""

import asyncio
import random
import time

import pytest

from bot.breaker import BreakerPolicy
from bot.domain import GenerationRequest, ImageInput, Outcome
from bot.errors import (
    AllModelsFailed,
    EmptyResult,
    InputError,
    InvalidRequest,
    ProviderMisconfigured,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    RequestRefused,
    SafetyBlocked,
)
from bot.health import HealthState
from bot.router import RouterPolicy
from tests.bot.fakes import ScriptedProvider, make_router

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
REQ = GenerationRequest(prompt="a red fox in snow")


def outcomes(result_or_error) -> list[tuple[str, str]]:
    return [(a.model, str(a.outcome)) for a in result_or_error.attempts]


async def test_primary_serves_when_up() -> None:
    p = ScriptedProvider()
    result = await make_router(p).generate(REQ)
    assert result.model == PRO and not result.fallback and result.fallback_reason is None
    assert outcomes(result) == [(PRO, "ok")]
    assert result.cost_usd == pytest.approx(0.134)


async def test_overloaded_primary_fails_over_at_once_and_says_why() -> None:
    p = ScriptedProvider(scripts={PRO: [ProviderOverloaded(model=PRO, status=503)]})
    result = await make_router(p).generate(REQ)
    assert result.model == FLASH and result.fallback and result.fallback_reason == "overloaded"
    assert outcomes(result) == [(PRO, "overloaded"), (FLASH, "ok")]
    assert result.attempts[0].status == 503
    assert result.cost_usd == pytest.approx(0.0336)  # the 503 is not billed


async def test_rate_limit_opens_breaker_for_retry_after_and_later_requests_skip() -> None:
    p = ScriptedProvider(scripts={PRO: [ProviderRateLimited(model=PRO, retry_after=30)]})
    router = make_router(p)
    await router.generate(REQ)
    second = await router.generate(REQ)
    assert p.count(PRO) == 1
    assert outcomes(second) == [(PRO, "skipped"), (FLASH, "ok")]
    assert second.fallback_reason == "rate_limited"
    assert router.board[PRO].breaker.held


async def test_server_error_gets_one_same_model_retry() -> None:
    p = ScriptedProvider(scripts={PRO: [ProviderServerError(model=PRO, status=500)]})
    result = await make_router(p, policy=RouterPolicy(retry_base_s=0.01)).generate(REQ)
    assert result.model == PRO and p.count(PRO) == 2
    p2 = ScriptedProvider(scripts={PRO: [ProviderServerError(model=PRO)] * 2})
    result2 = await make_router(p2, policy=RouterPolicy(retry_base_s=0.01)).generate(REQ)
    assert outcomes(result2) == [(PRO, "server_error"), (PRO, "server_error"), (FLASH, "ok")]


async def test_attempt_timeout_moves_on() -> None:
    p = ScriptedProvider(scripts={PRO: [5.0]})
    started = time.monotonic()
    router = make_router(p, timeout_s=0.2, policy=RouterPolicy(hedge=False))
    result = await router.generate(REQ)
    assert time.monotonic() - started < 1.0
    assert outcomes(result) == [(PRO, "timeout"), (FLASH, "ok")]
    assert result.fallback_reason == "timeout"


async def test_empty_result_moves_on() -> None:
    p = ScriptedProvider(scripts={PRO: [EmptyResult(model=PRO)]})
    result = await make_router(p).generate(REQ)
    assert outcomes(result) == [(PRO, "empty_result"), (FLASH, "ok")]


async def test_safety_block_stops_without_moderation_shopping() -> None:
    p = ScriptedProvider(scripts={PRO: [SafetyBlocked(model=PRO, reason="IMAGE_SAFETY")]})
    router = make_router(p)
    with pytest.raises(RequestRefused) as info:
        await router.generate(REQ)
    assert isinstance(info.value.cause, SafetyBlocked)
    assert p.count(FLASH) == 0 and outcomes(info.value) == [(PRO, "safety_blocked")]
    assert router.board[PRO].state() is HealthState.NORMAL  # the model is fine


async def test_safety_failover_when_configured() -> None:
    p = ScriptedProvider(scripts={PRO: [SafetyBlocked(model=PRO)]})
    result = await make_router(p, policy=RouterPolicy(failover_on_safety=True)).generate(REQ)
    assert result.model == FLASH and result.fallback_reason == "safety_blocked"


async def test_invalid_request_stops() -> None:
    p = ScriptedProvider(scripts={PRO: [InvalidRequest(model=PRO, status=400)]})
    with pytest.raises(RequestRefused) as info:
        await make_router(p).generate(REQ)
    assert isinstance(info.value.cause, InvalidRequest) and p.count(FLASH) == 0


async def test_misconfigured_model_is_switched_off() -> None:
    p = ScriptedProvider(scripts={PRO: [ProviderMisconfigured(model=PRO, status=404)]})
    router = make_router(p)
    first = await router.generate(REQ)
    assert first.model == FLASH and first.fallback_reason == "misconfigured"
    for _ in range(3):
        await router.generate(REQ)
    assert p.count(PRO) == 1
    status = {s.label: s for s in router.board.snapshot()}[PRO]
    assert status.state is HealthState.DOWN and status.reason == "misconfigured"


async def test_all_models_failing_gives_the_whole_log() -> None:
    err = ProviderOverloaded
    p = ScriptedProvider(then={PRO: err(model=PRO), FLASH: err(model=FLASH), GPT: err(model=GPT)})
    with pytest.raises(AllModelsFailed) as info:
        await make_router(p).generate(REQ)
    assert outcomes(info.value) == [(PRO, "overloaded"), (FLASH, "overloaded"), (GPT, "overloaded")]
    assert not info.value.deadline_exceeded


async def test_whole_request_deadline() -> None:
    p = ScriptedProvider(then={PRO: 10.0, FLASH: 10.0, GPT: 10.0})
    started = time.monotonic()
    with pytest.raises(AllModelsFailed) as info:
        await make_router(p, latency_s=5.0).generate(REQ, deadline_s=0.3)
    assert time.monotonic() - started < 1.0
    assert info.value.deadline_exceeded
    assert len(asyncio.all_tasks()) == 1  # no attempt left running


async def test_capability_filtering() -> None:
    p = ScriptedProvider(then={PRO: ProviderOverloaded(model=PRO)})
    router = make_router(p)
    refs = tuple(ImageInput(b"x", "image/png") for _ in range(15))
    result = await router.generate(GenerationRequest("edit", references=refs))
    assert result.model == GPT  # the Nano Bananas take at most 14 references, GPT Image 16
    assert [c.model.id for c in router.candidates(GenerationRequest("x", history=({},)))] == [
        PRO,
        FLASH,
    ]
    with pytest.raises(InputError) as info:
        await router.generate(GenerationRequest("x", references=refs * 4))
    assert info.value.code == "no_capable_model"


async def test_chain_override_and_size_adjustment() -> None:
    p = ScriptedProvider()
    result = await make_router(p).generate(
        GenerationRequest("x", size="4K", aspect_ratio="1:8"), chain=[GPT, PRO]
    )
    assert result.model == GPT and result.primary == GPT and not result.fallback
    assert result.adjustments == ("aspect 1:8→9:16",)


async def test_hedge_beats_a_slow_primary_and_counts_the_loser() -> None:
    p = ScriptedProvider(then={FLASH: 0.02})
    router = make_router(p, latency_s=0.05)
    for _ in range(6):  # learn a baseline
        await router.generate(REQ)
    p.scripts[PRO] = [3.0]
    started = time.monotonic()
    result = await router.generate(REQ)
    assert time.monotonic() - started < 1.0
    assert result.model == FLASH and result.fallback_reason == "delayed"
    cancelled = [a for a in result.attempts if a.outcome is Outcome.CANCELLED]
    assert [a.model for a in cancelled] == [PRO] and cancelled[0].cost_usd > 0
    assert result.spent_usd == pytest.approx(0.134 + 0.0336)


async def test_stalled_primary_is_bypassed_before_any_timeout() -> None:
    p = ScriptedProvider(then={FLASH: 0.01})
    router = make_router(p, latency_s=0.05, timeout_s=60, policy=RouterPolicy(hedge=False))
    for _ in range(6):
        await router.generate(REQ)
    p.then[PRO] = 60.0  # stops answering
    hung = asyncio.create_task(router.generate(REQ))
    await asyncio.sleep(0.3)
    assert router.board[PRO].state() is HealthState.DELAYED
    result = await asyncio.wait_for(router.generate(REQ), 1.0)
    # the stalled primary is probed (hedged at once, left to finish), not waited for
    assert result.model == FLASH and (PRO, "background") in outcomes(result)
    hung.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hung


async def test_half_open_probe_brings_the_primary_back() -> None:
    p = ScriptedProvider(scripts={PRO: [ProviderOverloaded(model=PRO)] * 4})
    router = make_router(p, breaker=BreakerPolicy(open_s=0.2))
    for _ in range(5):
        await router.generate(REQ)
    assert p.count(PRO) == 4
    await asyncio.sleep(0.25)
    result = await router.generate(REQ)
    assert result.model == PRO and router.board[PRO].state() is HealthState.NORMAL


async def test_last_resort_overrides_open_breakers() -> None:
    p = ScriptedProvider()
    router = make_router(p)
    for label in (PRO, FLASH, GPT):
        router.board[label].trip(hold_s=0)
        for _ in range(12):
            router.board[label].breaker.record_failure()
    result = await router.generate(REQ)
    assert result.model in (PRO, FLASH, GPT)


async def test_cancelling_the_request_cancels_its_attempts() -> None:
    p = ScriptedProvider(then={PRO: 10.0})
    task = asyncio.create_task(make_router(p, latency_s=5.0).generate(REQ))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(asyncio.all_tasks()) == 1


async def test_coin_flip_overload_keeps_the_primary_in_use() -> None:
    rng = random.Random(3)
    p = ScriptedProvider()
    router = make_router(p)
    served = []
    for _ in range(300):
        p.scripts[PRO] = [ProviderOverloaded(model=PRO)] if rng.random() < 0.45 else []
        served.append((await router.generate(REQ)).model)
    share = served.count(PRO) / len(served)
    assert share > 0.5
