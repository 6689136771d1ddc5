"""Failover router: one request in, one image out, from the best route that is up.

For each request the candidate routes (chain order, filtered by capability) are
walked one at a time. A route is used when it is 🟢 normal and its breaker
admits the call; a 🔴 route whose breaker is half-open gets the request as its
single probe; a 🟡 delayed route gets one probe per interval and is otherwise
passed over. When nothing healthy is left, a delayed route is still better than
nothing, and as a last resort an open breaker is overridden (never a vendor's
retry-after hold, never a misconfigured model).

What happens on a failed attempt follows the error tree: transient errors move on
at once (a server error first gets ≤ 1 same-route retry after a full-jitter
pause), safety blocks and invalid requests stop (unless ``failover_on_safety``),
a misconfigured route is switched off for ``misconfigured_hold_s``.

Hedging: if the attempt in flight has not answered within ``hedge_factor`` × its
route's baseline p95, the next route is started beside it; the first image wins
and the loser is cancelled. A cancelled attempt's price is still counted in the
attempt log, because the vendor may have billed it.

Pacing: a route whose channel sets ``rpm`` is used only while it has a call left in
the last minute (``bot.pacing``); otherwise it is passed over like a busy one, at
once — the walk never waits for the minute — and the attempt log says ``paced``.

A thread's edit that no multi-turn model can make goes on, in the same call, as a
plain edit of the thread's latest image on any edit-capable model (``Fallback``).

Imports run one way: ``bot.route`` (routes, the policy, ``WalkKit``) →
``bot.attempt`` (one call) → ``bot.answer`` (the result) → ``bot.walk`` (one
request) → ``bot.router``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.catalog import ModelSpec
from bot.domain import Attempt, GenerationRequest, ImageResult, Outcome
from bot.errors import AllModelsFailed, InputError
from bot.health import HealthBoard
from bot.messages import PACED, SKIPPED_PACED, capability_needed
from bot.meter import Meter, SafeMeter
from bot.pacing import LocalPacer
from bot.ports import AttemptStarted, Claims, Clock, Pacer
from bot.route import Route, RouterPolicy, WalkKit
from bot.walk import Walk

__all__ = ["Fallback", "Route", "Router", "RouterPolicy"]  # Route, RouterPolicy: bot.route


@dataclass(frozen=True, slots=True)
class Fallback:
    """A second request for when the first finds no model to make it (every candidate
    failed, or none can do it): a thread's edit sent as a plain edit of its latest
    image, to any edit-capable model. ``request()`` builds it only then (None: there
    is none, and the first error stands); it is walked over ``chain``."""

    request: Callable[[], Awaitable[GenerationRequest | None]]
    chain: Sequence[str] | None = None


class Router:
    def __init__(
        self,
        routes: Sequence[Route],
        *,
        board: HealthBoard,
        policy: RouterPolicy | None = None,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        resolve: Callable[[str], str] | None = None,
        successor: Callable[[str], str | None] | None = None,
        meter: Meter | None = None,
        pacer: Pacer | None = None,
        probes: Claims | None = None,
    ) -> None:
        """``probes``: shared by the processes of one bot (Redis), so that one of them
        probes a sick route each interval, not each process; None: this process alone."""
        self.routes = list(routes)
        self.probes = probes
        self.pacer = pacer or LocalPacer(clock)  # paced routes only (Route.rpm > 0)
        self.meter = SafeMeter(meter)  # each walk's attempts, fallbacks, spend
        self.resolve = resolve or (lambda model_id: model_id)  # shut-down id → successor
        self.successor = successor or (lambda model_id: None)  # the one its vendor names
        self._probes: dict[str, dict[asyncio.Task[Any], float]] = {}  # task → started, oldest first
        self.probe_spend_usd = 0.0  # probes left to finish that answered with an image
        self.board = board
        self.policy = policy or RouterPolicy()
        self.clock = clock
        self.rng = rng or random.Random()

    def candidates(
        self, request: GenerationRequest, chain: Sequence[str] | None = None
    ) -> list[Route]:
        """Routes that can serve ``request``, in preference order."""
        routes = self.routes
        if chain is not None:
            resolved = dict.fromkeys(self.resolve(m) for m in chain)
            order = {model_id: i for i, model_id in enumerate(resolved)}
            routes = sorted(
                (r for r in routes if r.model.id in order), key=lambda r: order[r.model.id]
            )
        return [r for r in routes if _capable(r.model, request)]

    async def generate(
        self,
        request: GenerationRequest,
        *,
        chain: Sequence[str] | None = None,
        deadline_s: float | None = None,
        failover_on_safety: bool | None = None,
        on_attempt: AttemptStarted | None = None,
        fallback: Fallback | None = None,
    ) -> ImageResult:
        """One image. ``chain`` and ``failover_on_safety`` override the installation's
        for this request (a workspace's own settings). ``on_attempt(model, earlier)`` is
        called as each call to a model is sent, with the attempts of the same walk
        finished before it (progress for the user: "generating on X", "fell back to Y");
        it must not block. ``fallback``: what to walk, with its own deadline, when no
        model makes ``request``; its result's attempts start with the first walk's."""
        safety = (
            self.policy.failover_on_safety if failover_on_safety is None else failover_on_safety
        )
        try:
            result = await self._walk(request, chain, deadline_s, safety, on_attempt)
        except (AllModelsFailed, InputError) as exc:
            second = await fallback.request() if fallback is not None else None
            if fallback is None or second is None:
                raise
            earlier = exc.attempts if isinstance(exc, AllModelsFailed) else ()
            result = await self._walk(second, fallback.chain, deadline_s, safety, on_attempt)
            result = replace(result, attempts=(*earlier, *result.attempts))
        if result.fallback:
            reason = result.fallback_reason or "unavailable"
            self.meter.fallback(primary=result.primary, model=result.model, reason=reason)
        return result

    async def _walk(
        self,
        request: GenerationRequest,
        chain: Sequence[str] | None,
        deadline_s: float | None,
        safety_failover: bool,
        on_attempt: AttemptStarted | None,
    ) -> ImageResult:
        cands = self.candidates(request, chain)
        if not cands:
            raise InputError("no_capable_model", capability_needed(request))
        deadline = self.clock() + (deadline_s or self.policy.deadline_s)
        walk = Walk(
            self._kit(),
            request,
            cands,
            deadline,
            safety_failover=safety_failover,
            on_attempt=on_attempt,
        )
        try:
            return await walk.run()
        finally:
            await walk.cancel_all()
            self.board.refresh()
            self._meter(walk.attempts)

    def _meter(self, attempts: Sequence[Attempt]) -> None:
        """A walk's attempt log, told to the meter once the walk is over (a row left
        to finish in the background has no duration yet; a skipped one was never sent)."""
        for a in attempts:
            timed = a.outcome not in (Outcome.SKIPPED, Outcome.BACKGROUND)
            seconds = a.latency_ms / 1000 if timed else None
            outcome = PACED if a.detail == SKIPPED_PACED else str(a.outcome)
            self.meter.attempt(model=a.model, channel=a.channel, outcome=outcome, seconds=seconds)
            if a.cost_usd:
                self.meter.spent(model=a.model, channel=a.channel, usd=a.cost_usd)

    def _kit(self) -> WalkKit:
        """What a walk needs from the router (read afresh for each request)."""
        return WalkKit(
            policy=self.policy,
            board=self.board,
            clock=self.clock,
            rng=self.rng,
            routes=self.routes,
            successor=self.successor,
            keep_probe=self.keep_probe,
            pacer=self.pacer,
            probes=self.probes,
        )

    def keep_probe(self, label: str, task: asyncio.Task[Any]) -> bool:
        """Let a probe that lost its request's race finish in the background: at most
        ``background_probes`` per route; one older than the stall threshold (likely
        hung) is cancelled to make room. False: cancel this one as usual."""
        mine = self._probes.setdefault(label, {})
        if self.policy.background_probes < 1:
            return False
        now, old_enough = self.clock(), self.board[label].stall_after()
        while len(mine) >= self.policy.background_probes:  # an old (hung) one makes room
            oldest, started = next(iter(mine.items()))
            if now - started < old_enough:
                return False  # all still young enough to answer: this one is cancelled
            del mine[oldest]
            oldest.cancel()
        mine[task] = now

        def done(finished: asyncio.Task[Any]) -> None:
            mine.pop(finished, None)
            if not finished.cancelled() and finished.exception() is None:
                made = finished.result()
                if made.image is not None:  # an image nobody asked for: the bot's cost
                    self.probe_spend_usd += made.attempt.cost_usd
                    a = made.attempt
                    self.meter.spent(model=a.model, channel=a.channel, usd=a.cost_usd)
            self.board.refresh()  # its verdict may have changed the route's state

        task.add_done_callback(done)
        return True

    async def aclose(self) -> None:
        probes = [t for tasks in self._probes.values() for t in tasks]
        for task in probes:
            task.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
        seen: set[int] = set()
        for route in self.routes:
            if id(route.provider) not in seen:
                seen.add(id(route.provider))
                await route.provider.aclose()


def _capable(model: ModelSpec, request: GenerationRequest) -> bool:
    if request.references and (not model.edit or len(request.references) > model.max_refs):
        return False
    if request.history and not model.multi_turn:
        return False
    return model.generate or bool(request.references)
