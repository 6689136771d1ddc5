"""Test doubles for the core's ports (not SDK mocks: SDK paths run against the sandbox)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.aliases import Aliases
from bot.breaker import BreakerPolicy, CircuitBreaker
from bot.catalog import ModelSpec, load_catalog
from bot.domain import GenerationRequest, ProviderImage
from bot.health import HealthBoard, HealthPolicy
from bot.meter import Meter
from bot.ports import Claims, ImageProvider, Pacer
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


def allow(breaker: CircuitBreaker) -> bool:
    """Would ``breaker`` admit a call now? (``admit()`` for a test that never reports
    back: the ticket, if any, is released at once.)"""
    ticket = breaker.admit()
    breaker.release(ticket or 0)
    return ticket is not None


CHAIN = ("gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst")


def make_router(
    provider: ImageProvider,
    *,
    chain: tuple[str, ...] = CHAIN,
    clock: Callable[[], float] | None = None,
    policy: RouterPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    latency_s: float = 0.05,
    timeout_s: float = 5.0,
    health: HealthPolicy | None = None,
    meter: Meter | None = None,
    rpm: dict[str, int] | None = None,
    pacer: Pacer | None = None,
    probes: Claims | None = None,
) -> Router:
    """A router over ``chain`` on one provider; ``rpm``: model id → its pace."""
    import random
    import time
    from dataclasses import replace

    catalog = load_catalog()
    clk = clock or time.monotonic
    board = HealthBoard(
        clk, policy=health or HealthPolicy(), breaker_policy=breaker or BreakerPolicy()
    )
    routes = []
    for model_id in chain:
        spec = replace(catalog.models[model_id], latency_s=latency_s, timeout_s=timeout_s)
        board.add(model_id, model=model_id, channel=provider.channel, typical_latency_s=latency_s)
        routes.append(Route(model_id, spec, provider, rpm=(rpm or {}).get(model_id, 0)))
    aliases = Aliases(catalog)
    return Router(
        routes,
        board=board,
        policy=policy,
        clock=clk,
        rng=random.Random(0),
        resolve=aliases,
        successor=aliases.successor,
        meter=meter,
        pacer=pacer,
        probes=probes,
    )


@dataclass
class GeminiLikeProvider:
    """Answers like Gemini: each image comes with turns whose model part carries a
    thought signature bound to (model, channel); a history with anyone else's
    signature is refused with the 400 the real API gives (``HistoryRejected``)."""

    channel: str = "google"
    fail: dict[str, list[BaseException]] = field(default_factory=dict)
    calls: list[tuple[str, GenerationRequest]] = field(default_factory=list)
    made: int = 0

    async def generate(self, *, model: ModelSpec, request: GenerationRequest) -> ProviderImage:
        import base64

        from bot.errors import HistoryRejected

        self.calls.append((model.id, request))
        script = self.fail.get(model.id, [])
        if script:
            raise script.pop(0)
        mine = f"sig:{model.id}:{self.channel}:"
        for turn in request.history:
            for part in turn.get("parts", ()):
                sig = part.get("thought_signature")
                if sig is not None and not str(sig).startswith(mine):
                    raise HistoryRejected(
                        "Corrupted thought signature.", model=model.id, status=400
                    )
        self.made += 1
        image = PNG + f"{model.id}#{self.made}".encode()
        data = base64.urlsafe_b64encode(image).decode()
        parts: list[dict[str, object]] = [{"text": request.prompt}]
        parts += [
            {
                "inline_data": {
                    "data": base64.urlsafe_b64encode(r.data).decode(),
                    "mime_type": r.mime_type,
                }
            }
            for r in request.references
        ]
        user = {"role": "user", "parts": parts}
        answer = {
            "role": "model",
            "parts": [
                {
                    "inline_data": {"data": data, "mime_type": "image/png"},
                    "thought_signature": f"{mine}{self.made}",
                }
            ],
        }
        return ProviderImage(data=image, mime_type="image/png", turns=(user, answer))

    def models_called(self) -> list[str]:
        return [m for m, _ in self.calls]

    async def aclose(self) -> None:
        return None
