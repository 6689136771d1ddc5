"""Per-route circuit breaker: sliding window + surprise-based consecutive trip in
admission order, a time-based open period, a single half-open probe at a time.

Why not "open at ≥ 30 % of ≥ 5 calls": Gemini 3 Pro Image at peak fails ~45 % of
calls *at random* with a fast 503, and the failover after a fast 503 costs tens of
milliseconds. A 30 % rule would keep the primary's breaker open all day and throw
away the best model for a trivial latency saving. A model that is truly down
fails *every* call. So the breaker trips on a run of consecutive failures that
would be surprising given the model's recent success rate ``p``: the run length
``k`` is the smallest with ``(1-p)^k < surprise`` (clamped to 3…12). A model that
was healthy (p≈1) trips after 3 failures, a route with no history yet after 4 (so
one unlucky start of a coin-flipping model does not switch it off); one that is
coin-flipping at 55 % success needs 12 in a row (chance ≈ 7e-5 per call), so it
stays in use. A failure rate ≥ ``failure_rate`` over the last ≥ ``min_calls``
admitted calls (those in flight count as not failed) also trips (a model that only
rarely succeeds).

**Judged by admission.** Every call gets a ticket when it is admitted, stamped with
the breaker's epoch (which moves on at every trip and every close). An outcome
counts for the state its call was admitted in: a success admitted before a trip
cannot close the breaker, and a failure admitted before a close cannot count
against the fresh start. "Consecutive" is in admission order: the run is the
failures at the newest end of the admitted calls, counted back to the first call
that succeeded or is still in flight. So a slow success admitted before an outage
began does not reset the outage's run (the breaker trips after 3 fast 503s, not
one call latency later), while a coin-flipping model's fast 503s never form a run
across the slower calls still in flight between them.

**Time-based recovery.** The open period is the route's probe interval (given by
``bot.route_health``: 5 × the model's usual p50, within 1…30 s), at most
``max_open_s`` (10 s: a probe of a model that answers 503 in 40 ms costs the user
nothing, it is hedged), the same after every trip: a model that is back is tried
again within one interval however long it was down, and a down model costs one
probe per interval. Half-open admits one
probe at a time; the probe runs to its own verdict (``bot.walk`` never cancels a
probe), a success closes, a failure re-opens for another interval. A 429 that
names a retry delay trips at once and holds the breaker open at least that long;
``trip(hold_s=…)`` holds it for a misconfigured model.

**Shared.** ``on_change(opened)`` is told of every trip and close made here (the
board passes them on to other processes, ``bot.shared_health``); ``adopt_trip`` /
``adopt_close`` apply another process's, counting no call and telling no one.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.ports import Clock

PENDING, OK, FAILED, GONE = "pending", "ok", "failed", "gone"


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    window_s: float = 60.0
    min_calls: int = 10
    failure_rate: float = 0.9
    min_consecutive: int = 3
    max_consecutive: int = 12
    surprise: float = 1e-4
    prior_success: float = 0.9  # what we assume of a model we have not seen yet…
    prior_weight: float = 5.0  # …worth this many calls (a route with no history: 4)
    open_s: float | None = None  # a fixed open period; None: the route's probe interval…
    max_open_s: float = 10.0  # …but at most this: a probe of a down model is cheap
    order_size: int = 64  # admitted calls kept to read the run from


@dataclass(slots=True)
class _Call:
    epoch: int
    outcome: str = PENDING


class CircuitBreaker:
    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Clock,
        *,
        open_for: Callable[[], float] | None = None,
    ) -> None:
        self._p = policy
        self._clock = clock
        self._fixed_open = policy.open_s
        self._route_open = open_for
        self._calls: deque[tuple[float, bool]] = deque()  # the window: (time, ok)
        self._order: deque[_Call] = deque()  # admitted calls, oldest first (this epoch)
        self._tickets: dict[int, _Call] = {}
        self._serial = itertools.count(1)
        self._epoch = 0
        self._open_until = 0.0
        self._hold_until = 0.0  # retry_after / an admin hold: never admit before this
        self._opened = False
        self._probe = 0  # ticket of the half-open probe in flight; 0: none
        self.opened_at: float | None = None
        self.on_change: Callable[[bool], None] | None = None  # True: tripped; False: closed

    # -- reading -------------------------------------------------------------
    @property
    def state(self) -> BreakerState:
        if not self._opened:
            return BreakerState.CLOSED
        if self._clock() < max(self._open_until, self._hold_until):
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def held(self) -> bool:
        """Inside a vendor's retry-after (or an admin hold): never override."""
        return self._clock() < self._hold_until

    @property
    def reopens_in(self) -> float:
        return max(0.0, max(self._open_until, self._hold_until) - self._clock())

    @property
    def held_for(self) -> float:
        """Seconds left of a vendor's retry-after or an admin hold (0: none)."""
        return max(0.0, self._hold_until - self._clock())

    @property
    def open_for(self) -> float:
        """Seconds left of the open period, not counting a hold (0: not open)."""
        return max(0.0, self._open_until - self._clock()) if self._opened else 0.0

    # -- admission -----------------------------------------------------------
    def admit(self) -> int | None:
        """Admit a call: when closed, always — but one at a time once the next failure
        would trip it (the rest wait for that verdict on another route, so a model
        that has just gone down is not sent a burst it will refuse); when half-open,
        one probe at a time. None: refused. The ticket goes back to ``record_*`` /
        ``release``."""
        state = self.state
        if state is BreakerState.CLOSED:
            # a call admitted after the newest verdict is still in flight and decides
            deciding = bool(self._order) and self._order[-1].outcome == PENDING
            if deciding and (run := self.run()) and run + 1 >= self.run_to_trip():
                return None
            return self._ticket(in_order=True)
        if state is BreakerState.HALF_OPEN and not self._probe:
            self._probe = self._ticket(in_order=False)
            return self._probe
        return None

    def probing(self, ticket: int) -> bool:
        """True if ``ticket`` is the half-open probe's."""
        return bool(ticket) and ticket == self._probe

    def release(self, ticket: int = 0) -> None:
        """The admitted call ended with no verdict (cancelled, cut by the deadline)."""
        call = self._tickets.pop(ticket, None)
        if call is not None:
            call.outcome = GONE
        if ticket and ticket == self._probe:
            self._probe = 0

    # -- outcomes ------------------------------------------------------------
    def record_success(self, ticket: int = 0) -> None:
        call, _ = self._settle(ticket, OK)
        if call is not None and call.epoch != self._epoch:
            return  # admitted before a trip or a close: it speaks for a state now gone
        if self._opened:
            if self._clock() < self._hold_until:
                return  # honour the vendor's retry-after even if a call came back
            self._close()
        self._push(True)

    def record_failure(
        self, ticket: int = 0, *, retry_after: float | None = None, sibling_down: bool = False
    ) -> None:
        """``sibling_down``: another model on the same channel is open already (two
        models of one vendor often fail together): a run of 2 is enough to trip."""
        call, was_probe = self._settle(ticket, FAILED)
        now = self._clock()
        if retry_after:
            self._hold_until = max(self._hold_until, now + retry_after)
        if self._opened:
            if was_probe:
                self._trip(now)  # another interval (or the vendor's delay)
            return
        if call is not None and call.epoch != self._epoch:
            return  # admitted before the last close: not part of the fresh start
        self._push(False)
        if retry_after or self._should_trip() or (sibling_down and self.run() >= 2):
            self._trip(now)

    def defer(self, at_least: float = 0.0) -> None:
        """An open breaker waits another interval, and at least ``at_least`` s, before
        its probe (a better sibling on the same channel just failed its probe: the
        vendor is likely still down, and it will be asked again in its own interval)."""
        if self._opened and not self._probe:
            wait = max(self.open_period(), at_least)
            self._open_until = max(self._open_until, self._clock() + wait)

    def trip(self, *, hold_s: float) -> None:
        """Open now and stay open at least ``hold_s`` (e.g. a misconfigured model)."""
        now = self._clock()
        self._hold_until = max(self._hold_until, now + hold_s)
        self._trip(now)

    # -- another process's verdicts (bot.shared_health) -------------------------
    def adopt_trip(self, *, open_s: float, hold_s: float = 0.0) -> None:
        """Another process tripped this route: open now for ``open_s`` (held ``hold_s``),
        or longer if already so. No failure is counted and ``on_change`` is not told."""
        now = self._clock()
        self._hold_until = max(self._hold_until, now + hold_s)
        self._open_until = max(self._open_until, now + open_s)
        if not self._opened:
            self.opened_at = now
            self._new_epoch()
        self._opened = True

    def adopt_close(self) -> None:
        """Another process's probe succeeded: close, unless held here (a vendor's
        retry-after is never overridden). ``on_change`` is not told."""
        if self._opened and not self.held:
            self._close(tell=False)

    # -- the trip rule ---------------------------------------------------------
    def run(self) -> int:
        """Consecutive failures at the newest end of the admitted calls (admission order)."""
        count, settled = 0, False
        for call in reversed(self._order):
            if call.outcome == FAILED:
                count, settled = count + 1, True
            elif call.outcome == PENDING and not settled:
                continue  # newer than the newest verdict: not yet part of the run
            else:
                break
        return count

    def success_rate(self) -> float:
        """Recent success rate (with the prior), not counting the current failure run."""
        self._prune()
        ok = sum(1 for _, good in self._calls if good)
        before_run = max(0, len(self._calls) - self.run())
        return (ok + self._p.prior_success * self._p.prior_weight) / (
            before_run + self._p.prior_weight
        )

    def run_to_trip(self) -> int:
        """How many consecutive failures trip the breaker right now."""
        p = self.success_rate()
        if p >= 1.0 or p <= 0.0:
            return self._p.min_consecutive
        k = math.ceil(math.log(self._p.surprise) / math.log(1.0 - p))
        return max(self._p.min_consecutive, min(self._p.max_consecutive, k))

    def _should_trip(self) -> bool:
        if self.run() >= self.run_to_trip():
            return True
        # the rate over admitted calls, those still in flight included: fast 503s must
        # not look like 100 % failures while the slower successes are on their way
        counted = [c for c in self._order if c.outcome != GONE]
        failures = sum(1 for c in counted if c.outcome == FAILED)
        n = len(counted)
        return n >= self._p.min_calls and failures / n >= self._p.failure_rate

    # -- state changes -----------------------------------------------------------
    def _trip(self, now: float) -> None:
        self._open_until = now + self.open_period()
        if not self._opened:
            self.opened_at = now
            self._new_epoch()
        self._opened = True
        if self.on_change is not None:
            self.on_change(True)

    def open_period(self) -> float:
        """How long a trip keeps the breaker open (the route's probe interval, capped)."""
        if self._fixed_open is not None:
            return self._fixed_open
        route = self._route_open() if self._route_open is not None else self._p.max_open_s
        return min(route, self._p.max_open_s)

    def _close(self, *, tell: bool = True) -> None:
        self._opened = False
        self._probe = 0
        self._calls.clear()
        self.opened_at = None
        self._new_epoch()
        if tell and self.on_change is not None:
            self.on_change(False)

    def _new_epoch(self) -> None:
        self._epoch += 1
        self._order.clear()

    def _ticket(self, *, in_order: bool) -> int:
        ticket = next(self._serial)
        call = _Call(self._epoch)
        self._tickets[ticket] = call
        if in_order:
            self._order.append(call)
            while len(self._order) > self._p.order_size:
                self._order.popleft()
        return ticket

    def _settle(self, ticket: int, outcome: str) -> tuple[_Call | None, bool]:
        """The call's record (None: not admitted, e.g. a last-resort override) and
        whether it was the half-open probe."""
        call = self._tickets.pop(ticket, None)
        if call is not None:
            call.outcome = outcome
        elif not self._opened:  # not admitted (an override, a caller without tickets): now
            self._order.append(_Call(self._epoch, outcome))
        was_probe = bool(ticket) and ticket == self._probe
        if was_probe:
            self._probe = 0
        return call, was_probe

    def _push(self, ok: bool) -> None:
        self._calls.append((self._clock(), ok))
        self._prune()

    def _prune(self) -> None:
        horizon = self._clock() - self._p.window_s
        while self._calls and self._calls[0][0] < horizon:
            self._calls.popleft()
