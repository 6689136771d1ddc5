"""One request's walk down the chain: choosing the next route, hedging, retries,
cancelling losers (see ``bot.router`` for the policy in words). One call to one
route is ``bot.attempt``; the ``ImageResult`` it ends with, ``bot.answer``. A walk
gets a ``WalkKit`` from the router, never the router itself."""

from __future__ import annotations

import asyncio
import logging

from bot.answer import image_result
from bot.attempt import Done, Run, call_route, ms
from bot.domain import Attempt, GenerationRequest, ImageResult, Outcome
from bot.errors import (
    AllModelsFailed,
    InvalidRequest,
    ProviderServerError,
    RequestRefused,
    SafetyBlocked,
)
from bot.health import HealthState
from bot.messages import (
    HEDGE_LOST,
    PROBE_LEFT_TO_FINISH,
    SKIPPED_BREAKER_OPEN,
    SKIPPED_DELAYED,
    SKIPPED_NOT_OFFERED,
    SKIPPED_PACED,
)
from bot.ports import AttemptStarted
from bot.route import Route, WalkKit

log = logging.getLogger("bot.router")
MIN_PROBE_CLAIM_S = 1.0  # a probe claimed across processes is theirs for at least this


class Walk:
    """One request's walk down the chain (state that lives as long as the request)."""

    def __init__(
        self,
        kit: WalkKit,
        request: GenerationRequest,
        cands: list[Route],
        deadline: float,
        *,
        safety_failover: bool = False,
        on_attempt: AttemptStarted | None = None,
    ) -> None:
        self.kit, self.request, self.cands, self.deadline = kit, request, cands, deadline
        self.safety_failover = safety_failover
        self.on_attempt = on_attempt
        self.attempts: list[Attempt] = []
        self.running: dict[asyncio.Task[Done], Run] = {}
        self.used: set[str] = set()  # labels attempted in this request
        self.noted: set[str] = set()  # labels logged as skipped
        self.retries: dict[str, int] = {}
        self.hedge_spent = False

    async def run(self) -> ImageResult:
        p = self.kit.policy
        while True:
            if not self.running and not await self._launch_next():
                raise AllModelsFailed(attempts=self.attempts)
            now = self.kit.clock()
            if now >= self.deadline:
                raise AllModelsFailed(attempts=await self._abandon(), deadline_exceeded=True)
            wait = self.deadline - now
            hedge_at = self._hedge_at()
            if hedge_at is not None:
                wait = min(wait, max(0.0, hedge_at - now))
                wake = self._stall_check_at()
                if wake is not None:
                    wait = min(wait, max(0.0, wake - now))
            done, _ = await asyncio.wait(
                self.running, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                hedge_at = self._hedge_at()
                if hedge_at is not None and self.kit.clock() >= hedge_at:
                    self.hedge_spent = not await self._launch_next(hedge=True)
                continue
            finished = [(self.running.pop(task).route, task.result()) for task in done]
            self.attempts.extend(d.attempt for _, d in finished)
            for _, d in finished:
                if d.image is not None:
                    return image_result(
                        d,
                        await self._abandon(),
                        primary=self.cands[0],
                        board=self.kit.board,
                        request=self.request,
                    )
            for route, d in finished:
                err = d.error
                if isinstance(err, SafetyBlocked) and self.safety_failover:
                    continue
                if isinstance(err, (SafetyBlocked, InvalidRequest)):
                    await self._abandon()
                    raise RequestRefused(err, attempts=self.attempts) from err
                if (
                    isinstance(err, ProviderServerError)
                    and self.retries.get(route.label, 0) < p.server_retries
                ):
                    self.retries[route.label] = self.retries.get(route.label, 0) + 1
                    if not await self._has_pace(route):
                        continue  # no call left this minute: the next model instead
                    # admitted only after the pause: the breaker may have opened meanwhile
                    delay = self.kit.rng.uniform(0, p.retry_base_s)
                    self._start(route, ticket=None, delay=delay)

    # -- choosing ----------------------------------------------------------
    async def _launch_next(self, *, hedge: bool = False) -> bool:
        picked, probe, ticket = await self._pick()
        if picked is None:
            return False
        self._start(picked, ticket=ticket, hedge=hedge, probe=probe)
        return True

    async def _pick(self) -> tuple[Route | None, bool, int]:
        """The next route to try, whether the call probes a sick route, and its
        breaker ticket (0: not admitted — a delayed route's turn, or an override).
        A route with no call left this minute is passed over, whatever its state."""
        board = self.kit.board
        skipped: list[Route] = []
        delayed: list[Route] = []
        paced: list[Route] = []
        chosen: Route | None = None
        probe, ticket = False, 0
        for route in self.cands:
            if route.label in self.used:
                continue
            rh = board[route.label]
            state = rh.state()
            admitted = None
            if rh.offline is not None:
                pass  # the channel does not serve it: never called, never a last resort
            elif state is not HealthState.DELAYED or rh.claim_probe():
                admitted = rh.admit()  # closed: a ticket; half-open: the single probe's
            if admitted is not None:
                if not await self._has_pace(route):
                    rh.release(admitted)
                    paced.append(route)
                    continue
                if await self._probe_is_ours(route, admitted):
                    chosen, probe, ticket = route, state is not HealthState.NORMAL, admitted
                    break
                rh.release(admitted)
                rh.defer_probe()  # another process probes it this interval, and says how it went
                skipped.append(route)
                continue
            (delayed if state is HealthState.DELAYED else skipped).append(route)
        if chosen is None:
            for route in [*delayed, *self._last_resorts(skipped)]:
                if await self._has_pace(route):
                    chosen = route
                    break
                paced.append(route)
        for route in [*skipped, *delayed, *paced]:
            if route is chosen or route.label in self.noted:
                continue
            if chosen is not None and self.cands.index(route) > self.cands.index(chosen):
                continue
            self.noted.add(route.label)
            if route in paced:
                reason = SKIPPED_PACED
            elif route in delayed:
                reason = SKIPPED_DELAYED
            elif board[route.label].offline:
                reason = SKIPPED_NOT_OFFERED
            else:
                reason = SKIPPED_BREAKER_OPEN
            self.attempts.append(
                Attempt(route.model.id, route.provider.channel, Outcome.SKIPPED, detail=reason)
            )
        return chosen, probe, ticket

    async def _probe_is_ours(self, route: Route, ticket: int) -> bool:
        """False if another process of this bot probes the sick ``route`` this interval
        (claimed in Redis, for the breaker's open period); True otherwise, or alone."""
        breaker = self.kit.board[route.label].breaker
        if self.kit.probes is None or not breaker.probing(ticket):
            return True
        ttl = max(breaker.open_period(), MIN_PROBE_CLAIM_S)
        return await self.kit.probes.claim(f"probe:{route.label}", ttl_s=ttl)

    def _last_resorts(self, skipped: list[Route]) -> list[Route]:
        """Open breakers that may be overridden, the soonest to reopen first."""
        board = self.kit.board
        usable = [
            r
            for r in skipped
            if not board[r.label].held
            and board[r.label].last_failure != "misconfigured"
            and board[r.label].offline is None
        ]
        return sorted(usable, key=lambda r: board[r.label].reopens_in)

    async def _has_pace(self, route: Route) -> bool:
        """A call left this minute on ``route`` (taken now), or it is not paced. A pacer
        that fails is ignored: pacing never stops an image."""
        if route.rpm <= 0:
            return True
        try:
            return await self.kit.pacer.take(route.pace_key, rpm=route.rpm)
        except Exception:
            log.exception("pacer failed for %s; not paced this time", route.label)
            return True

    def _hedge_at(self) -> float | None:
        p = self.kit.policy
        if self.hedge_spent or len(self.running) != 1:
            return None
        run = next(iter(self.running.values()))
        route, started = run.route, run.started
        if not (p.hedge or run.probe):  # probes of a sick route are always hedged
            return None
        budget = max(p.hedge_min_s, p.hedge_factor * self.kit.board[route.label].baseline_p95())
        if self.kit.board[route.label].stalled():  # another call showed the route is stuck
            return min(started + budget, self.kit.clock())
        return started + budget

    def _stall_check_at(self) -> float | None:
        if len(self.running) != 1:
            return None
        route = next(iter(self.running.values())).route
        return self.kit.board[route.label].stall_due()

    # -- running -----------------------------------------------------------
    def _start(
        self,
        route: Route,
        *,
        ticket: int | None,
        delay: float = 0.0,
        hedge: bool = False,
        probe: bool = False,
    ) -> None:
        self.used.add(route.label)
        run = Run(route, self.kit.clock() + delay, probe, ticket)
        call = call_route(
            self.kit, run, self.request, deadline=self.deadline, delay=delay, sent=self._sent
        )
        task = asyncio.create_task(call, name=f"attempt:{route.label}")
        self.running[task] = run
        if hedge:
            log.info("hedging to %s", route.label)

    def _sent(self, model: str) -> None:
        if self.on_attempt is not None:
            try:
                self.on_attempt(model, tuple(self.attempts))
            except Exception:  # progress is a courtesy; it never fails a request
                log.exception("progress callback failed")

    async def _abandon(self) -> list[Attempt]:
        """Cancel what is still running — except a probe of a sick route, which is left
        to finish in the background so its verdict counts (a cancelled probe would keep
        the route sick for good). Each is logged with its possible cost."""
        for task, run in list(self.running.items()):
            if task.done() and not task.cancelled():
                self.attempts.append(task.result().attempt)  # finished meanwhile: its own row
                continue
            price = run.route.model.price_for(self.request.size)
            if run.probe and run.begun and self.kit.keep_probe(run.route.label, task):
                del self.running[task]  # billed only if it answers: Router.probe_spend_usd
                outcome, detail, price = Outcome.BACKGROUND, PROBE_LEFT_TO_FINISH, 0.0
            else:
                task.cancel()
                if not run.begun:
                    continue  # never sent (a retry still pausing): nothing to bill
                outcome, detail = Outcome.CANCELLED, HEDGE_LOST
            route = run.route
            latency = max(0.0, self.kit.clock() - run.started)
            self.attempts.append(
                Attempt(
                    route.model.id,
                    route.provider.channel,
                    outcome,
                    ms(latency),
                    price,
                    detail=detail,
                )
            )
        await self.cancel_all()
        return self.attempts

    async def cancel_all(self) -> None:
        runs = dict(self.running)
        self.running.clear()
        for task in runs:
            task.cancel()
        if runs:
            await asyncio.gather(*runs, return_exceptions=True)
        for run in runs.values():
            if not run.begun and run.ticket:
                # cancelled before it was sent (maybe before its first step): free its
                # admission, or a half-open probe slot would stay taken for good
                self.kit.board[run.route.label].release(run.ticket)
