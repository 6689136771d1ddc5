"""The router's own cost: ``router.generate`` against providers that answer at once."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import Any

from bot.catalog import load_catalog
from bot.domain import GenerationRequest, ProviderImage
from bot.errors import ProviderOverloaded
from bot.health import HealthBoard
from bot.router import Route, Router

from .config import CHAIN, LATENCY, PRIMARY, clock
from .metrics import pct


class InstantProvider:
    """Answers at once, in process; ``fail`` is the primary's chance of a fast 503."""

    channel = "instant"

    def __init__(self, fail: float = 0.0, seed: int = 0) -> None:
        self.fail, self.rng = fail, random.Random(seed)

    async def generate(self, *, model: Any, request: GenerationRequest) -> ProviderImage:
        if model.id == PRIMARY and self.fail and self.rng.random() < self.fail:
            raise ProviderOverloaded(model=model.id, status=503)
        return ProviderImage(data=b"\x89PNG\r\n\x1a\nbench", mime_type="image/png")

    async def aclose(self) -> None:
        return None


async def measure_overhead(n: int, fail: float) -> dict[str, Any]:
    catalog = load_catalog()
    provider = InstantProvider(fail)
    board = HealthBoard(clock)
    routes = []
    for model_id in CHAIN:
        spec = replace(catalog.models[model_id], latency_s=LATENCY[model_id][0])
        board.add(
            model_id, model=model_id, channel=provider.channel, typical_latency_s=spec.latency_s
        )
        routes.append(Route(model_id, spec, provider))
    router = Router(routes, board=board)
    request = GenerationRequest(prompt="overhead")
    times = []
    for i in range(n + 200):  # 200 warm-up calls
        started = time.perf_counter()
        await router.generate(request)
        if i >= 200:
            times.append((time.perf_counter() - started) * 1000)
    await router.aclose()
    return {
        "requests": n,
        "primary_fail": fail,
        "p50_ms": round(pct(times, 0.5) or 0.0, 3),
        "p99_ms": round(pct(times, 0.99) or 0.0, 3),
        "max_ms": round(max(times), 3),
    }
