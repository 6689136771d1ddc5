"""Test doubles for the core's ports (not SDK mocks: SDK paths run against the sandbox)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.breaker import BreakerPolicy
from bot.catalog import ModelSpec, load_catalog
from bot.domain import GenerationRequest, ProviderImage
from bot.health import HealthBoard, HealthPolicy
from bot.router import Route, Router, RouterPolicy

PNG = b"\x89PNG\r\n\x1a\nfake"


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Step = BaseException | float | Callable[[], object] | None


@dataclass
class ScriptedProvider:
    """Answers per model from a script: an exception to raise, a delay (float) before
    a good image, or None for an instant image. Past the script's end: ``then``."""

    channel: str = "fake"
    scripts: dict[str, list[Step]] = field(default_factory=dict)
    then: dict[str, Step] = field(default_factory=dict)
    calls: list[tuple[str, GenerationRequest]] = field(default_factory=list)
    closed: bool = False

    async def generate(self, *, model: ModelSpec, request: GenerationRequest) -> ProviderImage:
        self.calls.append((model.id, request))
        script = self.scripts.get(model.id, [])
        step = script.pop(0) if script else self.then.get(model.id)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, (int, float)):
            await asyncio.sleep(step)
        return ProviderImage(data=PNG + model.id.encode(), mime_type="image/png")

    def count(self, model_id: str) -> int:
        return sum(1 for m, _ in self.calls if m == model_id)

    async def aclose(self) -> None:
        self.closed = True


CHAIN = ("gemini-3-pro-image-preview", "gemini-2.5-flash-image", "gpt-image-1.5")


def make_router(
    provider: ScriptedProvider,
    *,
    chain: tuple[str, ...] = CHAIN,
    clock: Callable[[], float] | None = None,
    policy: RouterPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    latency_s: float = 0.05,
    timeout_s: float = 5.0,
) -> Router:
    import random
    import time
    from dataclasses import replace

    catalog = load_catalog()
    clk = clock or time.monotonic
    board = HealthBoard(clk, policy=HealthPolicy(), breaker_policy=breaker or BreakerPolicy())
    routes = []
    for model_id in chain:
        spec = replace(catalog.models[model_id], latency_s=latency_s, timeout_s=timeout_s)
        board.add(model_id, model=model_id, channel=provider.channel, typical_latency_s=latency_s)
        routes.append(Route(model_id, spec, provider))
    return Router(routes, board=board, policy=policy, clock=clk, rng=random.Random(0))
