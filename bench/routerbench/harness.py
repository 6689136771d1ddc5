"""Open-loop load and one (scenario, strategy) run with a fresh sandbox state."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.domain import GenerationRequest

from .config import LATENCY, clock
from .metrics import Rec, summarize
from .sandbox import SandboxHandle
from .scenarios import Scenario
from .strategies import (
    Failed,
    NaiveStrategy,
    OracleStrategy,
    RouterStrategy,
    Strategy,
    build_routes,
)


async def run_load(
    strategy: Strategy, *, rate: float, duration: float, cap: float, t0: float
) -> list[Rec]:
    n = max(1, round(rate * duration))
    recs: list[Rec | None] = [None] * n

    async def one(i: int, due: float) -> None:
        lag = clock() - due
        request = GenerationRequest(prompt=f"bench #{i}: a lighthouse at dusk, watercolour")
        try:
            async with asyncio.timeout(max(0.0, due + cap - clock())):
                s = await strategy.serve(request)
        except Failed as f:
            recs[i] = Rec(
                i, due - t0, clock() - due, False, None, 0, f.spent, f.attempts, error=f.kind
            )
        except TimeoutError:
            recs[i] = Rec(i, due - t0, clock() - due, False, error="bench_cap")
        except Exception as exc:  # a bug somewhere: count it, do not stop the run
            recs[i] = Rec(i, due - t0, clock() - due, False, error=f"crash:{type(exc).__name__}")
        else:
            recs[i] = Rec(
                i, due - t0, clock() - due, True, s.model, s.cost, s.spent, s.attempts, s.hedged
            )
        recs[i].lag = lag  # type: ignore[union-attr]

    tasks: list[asyncio.Task[None]] = []
    try:
        for i in range(n):
            due = t0 + i / rate
            if (wait := due - clock()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(i, due), name=f"bench-req-{i}"))
        await asyncio.wait(tasks, timeout=cap + 5.0)  # every request is capped at `cap` anyway
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [r or Rec(i, i / rate, cap, False, error="lost") for i, r in enumerate(recs)]


async def run_one(
    sb: SandboxHandle, scenario: Scenario, strategy_name: str, args: argparse.Namespace
) -> dict[str, Any]:
    await sb.reset()
    for model, (seconds, jitter) in LATENCY.items():
        await sb.set_latency(model, seconds, jitter)
    routes = build_routes(sb)
    start: list[float] = [clock()]
    strategy: Strategy
    if strategy_name == "router":
        strategy = RouterStrategy(routes, lambda: start[0])
    elif strategy_name == "naive":
        strategy = NaiveStrategy(routes)
    else:
        strategy = OracleStrategy(routes, sb)
    samples: list[dict[str, Any]] = []
    sampler: asyncio.Task[None] | None = None
    began = clock()
    try:
        for model, faults in scenario.faults.items():
            await sb.script(model, faults)
        start[0] = t0 = clock()
        if isinstance(strategy, RouterStrategy):
            sampler = asyncio.create_task(
                _sample(strategy, t0, scenario.duration + args.cap, samples)
            )
        recs = await run_load(
            strategy, rate=args.rate, duration=scenario.duration, cap=args.cap, t0=t0
        )
    finally:
        if sampler is not None:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
        await strategy.aclose()
    calls = await sb.calls()
    out = summarize(recs, calls, sb, scenario.duration, scenario.healthy_from)
    out["duration"] = scenario.duration
    out["wall_s"] = round(clock() - began, 1)
    if isinstance(strategy, RouterStrategy):
        # probes left to finish in the background that answered: images nobody asked for
        probes = strategy.router.probe_spend_usd
        out["probe_spend_usd"] = round(probes, 4)
        if out.get("spent_per_image") is not None and out["delivered"]:
            out["spent_per_image"] += probes / (out["delivered"] * out["requests"])
        out["events"] = strategy.events
        out["router_samples"] = samples
    else:
        del out["requests_log"]  # kept for the router only (size)
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    out["leftover_tasks"] = len(leftover)
    return out


async def _sample(
    strategy: RouterStrategy, t0: float, limit: float, out: list[dict[str, Any]]
) -> None:
    """The router's state ten times a second (pure reads: no effect on the router)."""
    for _ in range(int(limit * 10) + 1):
        out.append({"t": round(clock() - t0, 2), **strategy.snapshot()})
        await asyncio.sleep(0.1)
