"""The strategies under test, over the real provider adapters pointed at the sandbox.

- router: ``bot.router.Router`` with its default policies;
- naive:  try each model in chain order, next on any error, no breaker, no hedge;
- oracle: knows the fault schedule and sends each request to the first model that
          is not down / slowed / hung / rate-limited right now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.catalog import ChannelSpec, load_catalog
from bot.domain import GenerationRequest, Outcome
from bot.errors import GenerationFailed
from bot.health import HealthBoard, HealthEvent
from bot.ports import ImageProvider
from bot.router import Route, Router

from .config import API_KEY, CHAIN, IMPAIRED_KINDS, LATENCY, PRIMARY, SHORT, clock
from .sandbox import SandboxHandle, hard_fault


def build_routes(sb: SandboxHandle) -> list[Route]:
    """The chain over the real adapters, pointed at the sandbox; one provider per channel."""
    from adapters import providers as adapters_providers

    catalog = load_catalog()
    urls = {"gemini": sb.gemini_base_url, "openai": sb.openai_base_url}
    made: dict[str, ImageProvider] = {}
    routes = []
    for model_id in CHAIN:
        spec = replace(catalog.models[model_id], latency_s=LATENCY[model_id][0])
        channel: ChannelSpec = catalog.channels[spec.channels[0]]
        if channel.name not in made:
            made[channel.name] = adapters_providers.build_provider(
                channel, api_key=API_KEY, base_url=urls[channel.kind]
            )
        routes.append(Route(model_id, spec, made[channel.name]))
    return routes


async def close_routes(routes: Iterable[Route]) -> None:
    seen: set[int] = set()
    for route in routes:
        if id(route.provider) not in seen:
            seen.add(id(route.provider))
            await route.provider.aclose()


@dataclass
class Served:
    model: str
    cost: float  # the image's price
    spent: float  # plus cancelled (possibly billed) hedge attempts
    attempts: int = 1
    hedged: bool = False


class Failed(Exception):
    def __init__(self, kind: str, spent: float = 0.0, attempts: int = 0) -> None:
        super().__init__(kind)
        self.kind, self.spent, self.attempts = kind, spent, attempts


class Strategy(Protocol):
    name: str

    async def serve(self, request: GenerationRequest) -> Served: ...
    async def aclose(self) -> None: ...


class RouterStrategy:
    name = "router"

    def __init__(self, routes: list[Route], t0: Callable[[], float]) -> None:
        board = HealthBoard(clock)
        for r in routes:
            board.add(
                r.label,
                model=r.model.id,
                channel=r.provider.channel,
                typical_latency_s=r.model.latency_s,
            )
        self.router = Router(routes, board=board)  # default RouterPolicy/HealthPolicy/BreakerPolicy
        self.events: list[dict[str, Any]] = []
        self._t0 = t0
        board.subscribe(self._on_event)

    def _on_event(self, e: HealthEvent) -> None:
        self.events.append(
            {
                "t": round(clock() - self._t0(), 3),
                "kind": e.kind,
                "route": SHORT.get(e.route or "", e.route),
                "state": str(e.state) if e.state else None,
                "reason": e.reason,
                "primary": SHORT.get(e.primary or "", e.primary),
            }
        )

    def snapshot(self) -> dict[str, Any]:
        """Breaker states and the primary's health numbers (pure reads: no effect on the router)."""
        board = self.router.board
        out: dict[str, Any] = {SHORT[label]: str(board[label].breaker.state) for label in CHAIN}
        pro = board[PRIMARY]
        out["pro_stalled"] = pro.stalled()
        out["pro_p95"] = round(pro.baseline_p95(), 3)
        out["pro_stall_after"] = round(pro.stall_after(), 3)
        out["pro_in_flight"] = pro.in_flight
        return out

    async def serve(self, request: GenerationRequest) -> Served:
        try:
            res = await self.router.generate(request)
        except GenerationFailed as exc:
            spent = sum(a.cost_usd for a in exc.attempts)
            raise Failed(type(exc).__name__, spent, _sent(exc.attempts)) from exc
        hedged = any(str(a.outcome) in RACED for a in res.attempts)
        return Served(res.model, res.cost_usd, res.spent_usd, _sent(res.attempts), hedged)

    async def aclose(self) -> None:
        await self.router.aclose()


# Attempts that lost the request's race and are billed all the same: "cancelled" (a hedge
# cancelled), "background" (a probe left to finish, where the router has that outcome).
RACED = frozenset({"cancelled", "background"})


def _sent(attempts: Iterable[Any]) -> int:
    return sum(1 for a in attempts if a.outcome is not Outcome.SKIPPED)


class NaiveStrategy:
    """The loop from the seed guides: every model in order, next on any error."""

    name = "naive"

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes

    async def _try(self, route: Route, request: GenerationRequest) -> bool:
        try:
            async with asyncio.timeout(route.model.timeout_s):
                await route.provider.generate(model=route.model, request=request)
        except Exception:  # any error (CancelledError is not an Exception): next model
            return False
        return True

    async def serve(self, request: GenerationRequest) -> Served:
        for n, route in enumerate(self.routes, 1):
            if await self._try(route, request):
                price = route.model.price_for(request.size)
                return Served(route.model.id, price, price, n)
        raise Failed("AllModelsFailed", 0.0, len(self.routes))

    async def aclose(self) -> None:
        await close_routes(self.routes)


class OracleStrategy(NaiveStrategy):
    """Knows the schedule: skips models in a down/slow/hang/429 window right now."""

    name = "oracle"

    def __init__(self, routes: list[Route], sb: SandboxHandle) -> None:
        super().__init__(routes)
        self.sb = sb

    async def serve(self, request: GenerationRequest) -> Served:
        tried: list[Route] = []
        while len(tried) < len(self.routes):
            now = clock()
            left = [r for r in self.routes if r not in tried]
            fine = [r for r in left if not hard_fault(self.sb, r.model.id, now, IMPAIRED_KINDS)]
            route = (fine or left)[0]  # nothing fine: the chain order, like naive
            tried.append(route)
            if await self._try(route, request):
                price = route.model.price_for(request.size)
                return Served(route.model.id, price, price, len(tried))
        raise Failed("AllModelsFailed", 0.0, len(tried))
