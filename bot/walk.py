"""One request's walk down the chain: launching attempts, hedging, retries,
cancelling losers, and turning the outcome into an ``ImageResult`` (see
``bot.router`` for the policy in words)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.catalog import ModelSpec
from bot.domain import Attempt, GenerationRequest, ImageResult, Outcome, ProviderImage
from bot.errors import (
    AllModelsFailed,
    HistoryRejected,
    InvalidRequest,
    ModelNotOffered,
    ProviderError,
    ProviderMisconfigured,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
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
    SKIPPED_RETRY,
)
from bot.rebase import for_route, rebased
from bot.status_text import not_offered_note
from bot.vendor_health import defer_below, sibling_down, vendor_wide

if TYPE_CHECKING:
    from bot.ports import AttemptStarted
    from bot.router import Route, Router

log = logging.getLogger("bot.router")


@dataclass(slots=True)
class _Done:
    route: Route
    attempt: Attempt
    image: ProviderImage | None = None
    error: ProviderError | None = None
    rebased: bool = False  # the thread's history was replaced for this route


@dataclass(slots=True)
class _Run:
    """One attempt task's bookkeeping. ``ticket`` is the breaker admission (None:
    not admitted yet, e.g. a retry waiting out its jitter); ``begun``: the call was
    sent, so a cancellation may have been billed."""

    route: Route
    started: float
    probe: bool  # a probe of a sick route: always hedged
    ticket: int | None
    begun: bool = False


class Walk:
    """One request's walk down the chain (state that lives as long as the request)."""

    def __init__(
        self,
        router: Router,
        request: GenerationRequest,
        cands: list[Route],
        deadline: float,
        *,
        safety_failover: bool = False,
        on_attempt: AttemptStarted | None = None,
    ) -> None:
        self.r, self.request, self.cands, self.deadline = router, request, cands, deadline
        self.safety_failover = safety_failover
        self.on_attempt = on_attempt
        self.attempts: list[Attempt] = []
        self.running: dict[asyncio.Task[_Done], _Run] = {}
        self.used: set[str] = set()  # labels attempted in this request
        self.noted: set[str] = set()  # labels logged as skipped
        self.retries: dict[str, int] = {}
        self.hedge_spent = False

    async def run(self) -> ImageResult:
        p = self.r.policy
        while True:
            if not self.running and not self._launch_next():
                raise AllModelsFailed(attempts=self.attempts)
            now = self.r.clock()
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
                if hedge_at is not None and self.r.clock() >= hedge_at:
                    self.hedge_spent = not self._launch_next(hedge=True)
                continue
            finished = [(self.running.pop(task).route, task.result()) for task in done]
            self.attempts.extend(d.attempt for _, d in finished)
            for _, d in finished:
                if d.image is not None:
                    return self._result(d, await self._abandon())
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
                    # admitted only after the pause: the breaker may have opened meanwhile
                    delay = self.r.rng.uniform(0, p.retry_base_s)
                    self._start(route, ticket=None, delay=delay)

    # -- choosing ----------------------------------------------------------
    def _launch_next(self, *, hedge: bool = False) -> bool:
        picked, probe, ticket = self._pick()
        if picked is None:
            return False
        self._start(picked, ticket=ticket, hedge=hedge, probe=probe)
        return True

    def _pick(self) -> tuple[Route | None, bool, int]:
        """The next route to try, whether the call probes a sick route, and its
        breaker ticket (0 for an ordinary admission or an override)."""
        board = self.r.board
        skipped: list[Route] = []
        delayed: list[Route] = []
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
                chosen, probe, ticket = route, state is not HealthState.NORMAL, admitted
                break
            (delayed if state is HealthState.DELAYED else skipped).append(route)
        chosen = chosen or (delayed[0] if delayed else None) or self._last_resort(skipped)
        for route in skipped + delayed:
            if route is chosen or route.label in self.noted:
                continue
            if chosen is not None and self.cands.index(route) > self.cands.index(chosen):
                continue
            self.noted.add(route.label)
            if route in delayed:
                reason = SKIPPED_DELAYED
            elif board[route.label].offline:
                reason = SKIPPED_NOT_OFFERED
            else:
                reason = SKIPPED_BREAKER_OPEN
            self.attempts.append(
                Attempt(route.model.id, route.provider.channel, Outcome.SKIPPED, detail=reason)
            )
        return chosen, probe, ticket

    def _last_resort(self, skipped: list[Route]) -> Route | None:
        board = self.r.board
        usable = [
            r
            for r in skipped
            if not board[r.label].held
            and board[r.label].last_failure != "misconfigured"
            and board[r.label].offline is None
        ]
        if not usable:
            return None
        return min(usable, key=lambda r: board[r.label].reopens_in)

    def _hedge_at(self) -> float | None:
        p = self.r.policy
        if self.hedge_spent or len(self.running) != 1:
            return None
        run = next(iter(self.running.values()))
        route, started = run.route, run.started
        if not (p.hedge or run.probe):  # probes of a sick route are always hedged
            return None
        budget = max(p.hedge_min_s, p.hedge_factor * self.r.board[route.label].baseline_p95())
        if self.r.board[route.label].stalled():  # another call showed the route is stuck
            return min(started + budget, self.r.clock())
        return started + budget

    def _stall_check_at(self) -> float | None:
        if len(self.running) != 1:
            return None
        route = next(iter(self.running.values())).route
        return self.r.board[route.label].stall_due()

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
        run = _Run(route, self.r.clock() + delay, probe, ticket)
        task = asyncio.create_task(self._attempt(run, delay), name=f"attempt:{route.label}")
        self.running[task] = run
        if hedge:
            log.info("hedging to %s", route.label)

    async def _attempt(self, run: _Run, delay: float) -> _Done:
        route = run.route
        if delay:
            await asyncio.sleep(delay)
        rh = self.r.board[route.label]
        model, channel = route.model, route.provider.channel
        if run.ticket is None:
            run.ticket = rh.admit()
            if run.ticket is None:
                skipped = Attempt(model.id, channel, Outcome.SKIPPED, detail=SKIPPED_RETRY)
                return _Done(route, skipped)
        price = model.price_for(self.request.size)
        limit = min(model.timeout_s, self.deadline - self.r.clock())
        run.begun = True
        token = rh.begin(run.ticket)
        if self.on_attempt is not None:
            try:
                self.on_attempt(model.id, tuple(self.attempts))
            except Exception:  # progress is a courtesy; it never fails a request
                log.exception("progress callback failed")
        request = for_route(self.request, model.id, channel)
        try:
            async with asyncio.timeout(limit):
                try:
                    image = await route.provider.generate(model=model, request=request)
                except HistoryRejected:
                    if not request.history:
                        raise
                    # a signature the model did not make (a rotated key, a relay):
                    # the same call once more, the thread rebased — never a user's 400
                    log.warning("%s refused the thread's history; resent rebased", route.label)
                    request = rebased(request)
                    image = await route.provider.generate(model=model, request=request)
        except asyncio.CancelledError:
            latency = rh.abandoned(token)
            log.debug("%s cancelled after %.2fs", route.label, latency)
            raise
        except (ProviderError, TimeoutError) as exc:
            err = exc if isinstance(exc, ProviderError) else ProviderTimeout(model=model.id)
            if run.probe and vendor_wide(err):
                defer_below(self.r.routes, self.r.board, route)
            return self._failed(route, token, err, by_deadline=limit < model.timeout_s)
        except Exception as exc:  # an adapter bug must not take the router down
            log.exception("provider %s raised an unmapped %s", route.label, type(exc).__name__)
            return self._failed(
                route,
                token,
                ProviderServerError("unmapped error", model=model.id),
                by_deadline=False,
            )
        latency = rh.succeeded(token)
        self.r.board.refresh()
        attempt = Attempt(model.id, channel, Outcome.OK, _ms(latency), price)
        return _Done(route, attempt, image, rebased=request is not self.request)

    def _failed(self, route: Route, token: int, err: ProviderError, *, by_deadline: bool) -> _Done:
        rh = self.r.board[route.label]
        if isinstance(err, ProviderTimeout) and by_deadline:
            latency = rh.abandoned(token)
        elif isinstance(err, (SafetyBlocked, InvalidRequest)):
            latency = rh.abandoned(
                token, counts_as_stall=False
            )  # the model works; the prompt did not
        else:
            retry_after = err.retry_after if isinstance(err, ProviderRateLimited) else None
            quick = vendor_wide(err) and sibling_down(self.r.routes, self.r.board, route)
            latency = rh.failed(
                token, str(err.outcome), retry_after=retry_after, sibling_down=quick
            )
            if isinstance(err, ModelNotOffered):  # 404: unknown or shut down
                channel = route.provider.channel
                rh.take_offline(not_offered_note(channel, self.r.successor(route.model.id)))
                log.error("%s: not served by %s; switched off", route.label, channel)
            elif isinstance(err, ProviderMisconfigured):
                rh.trip(hold_s=self.r.policy.misconfigured_hold_s)
                log.error("%s is misconfigured (%s); switched off", route.label, err.status)
        log.info("%s failed: %s (%.2fs)", route.label, err.outcome, latency)
        self.r.board.refresh()
        attempt = Attempt(
            route.model.id, route.provider.channel, err.outcome, _ms(latency), status=err.status
        )
        return _Done(route, attempt, error=err)

    async def _abandon(self) -> list[Attempt]:
        """Cancel what is still running — except a probe of a sick route, which is left
        to finish in the background so its verdict counts (a cancelled probe would keep
        the route sick for good). Each is logged with its possible cost."""
        for task, run in list(self.running.items()):
            if task.done() and not task.cancelled():
                self.attempts.append(task.result().attempt)  # finished meanwhile: its own row
                continue
            price = run.route.model.price_for(self.request.size)
            if run.probe and run.begun and self.r.keep_probe(run.route.label, task):
                del self.running[task]  # billed only if it answers: Router.probe_spend_usd
                outcome, detail, price = Outcome.BACKGROUND, PROBE_LEFT_TO_FINISH, 0.0
            else:
                task.cancel()
                if not run.begun:
                    continue  # never sent (a retry still pausing): nothing to bill
                outcome, detail = Outcome.CANCELLED, HEDGE_LOST
            route = run.route
            latency = max(0.0, self.r.clock() - run.started)
            self.attempts.append(
                Attempt(
                    route.model.id,
                    route.provider.channel,
                    outcome,
                    _ms(latency),
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
                self.r.board[run.route.label].release(run.ticket)

    def _result(self, d: _Done, attempts: list[Attempt]) -> ImageResult:
        assert d.image is not None
        primary = self.cands[0]
        reason = None
        if d.route.model.id != primary.model.id:
            mine = [a for a in attempts if a.model == primary.model.id]
            failed = [a for a in mine if a.outcome not in (Outcome.SKIPPED, Outcome.CANCELLED)]
            rh = self.r.board[primary.label]
            if failed:
                reason = str(failed[-1].outcome)
            elif rh.state() is HealthState.DELAYED or any(
                a.outcome is Outcome.CANCELLED for a in mine
            ):
                reason = "delayed"
            else:
                reason = rh.last_failure or "unavailable"
        return ImageResult(
            image=d.image,
            model=d.route.model.id,
            channel=d.route.provider.channel,
            primary=primary.model.id,
            attempts=tuple(attempts),
            cost_usd=d.attempt.cost_usd,
            fallback_reason=reason,
            adjustments=_adjustments(d.route.model, self.request),
            rebased=d.rebased,
        )


def _adjustments(model: ModelSpec, request: GenerationRequest) -> tuple[str, ...]:
    out = []
    if request.size and model.fit_size(request.size) != request.size:
        out.append(f"size {request.size}→{model.fit_size(request.size)}")
    if request.aspect_ratio and model.fit_aspect(request.aspect_ratio) != request.aspect_ratio:
        out.append(f"aspect {request.aspect_ratio}→{model.fit_aspect(request.aspect_ratio)}")
    return tuple(out)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
