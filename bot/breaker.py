"""Per-route circuit breaker: sliding window + surprise-based consecutive trip,
exponential open time, a single half-open probe at a time; two failed probes in a row re-open it.

Why not "open at ≥ 30 % of ≥ 5 calls": Gemini 3 Pro Image at peak fails ~45 % of
calls *at random* with a fast 503, and the failover after a fast 503 costs tens of
milliseconds. A 30 % rule would keep the primary's breaker open all day and throw
away the best model for a trivial latency saving. A model that is truly down
fails *every* call. So the breaker trips on a run of consecutive failures that
would be surprising given the model's recent success rate ``p``: the run length
``k`` is the smallest with ``(1-p)^k < surprise`` (clamped to 3…12). A model that
was healthy (p≈1) trips after 3 failures; one that is coin-flipping at 55 %
success needs 12 in a row (chance ≈ 7e-5 per call), so it stays in use.
A failure rate ≥ ``failure_rate`` over ≥ ``min_calls`` in the window also trips
(a model that only rarely succeeds). Half-open re-opens after
``probes_to_reopen`` (2) failed probes in a row, not one: a model coming back
from an outage is often back in its coin-flip state, and one unlucky 503 would
otherwise double the wait for the best model. A 429 that names a retry delay trips at once
and holds the breaker open at least that long.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from bot.ports import Clock


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
    prior_weight: float = 5.0  # …worth this many calls
    open_s: float = 10.0
    max_open_s: float = 300.0
    probes_to_reopen: int = 2  # consecutive failed half-open probes before re-opening


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy, clock: Clock) -> None:
        self._p = policy
        self._clock = clock
        self._calls: deque[tuple[float, bool]] = deque()
        self._consecutive = 0
        self._open_until = 0.0
        self._hold_until = 0.0  # retry_after: never admit before this
        self._opened = False
        self._probe = 0  # ticket of the half-open probe in flight; 0: none
        self._tickets = itertools.count(1)
        self._trips = 0
        self._probe_failures = 0
        self._closed_at = -math.inf
        self.opened_at: float | None = None

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

    def admit(self) -> int | None:
        """Admit a call: always when closed (ticket 0), one probe at a time when
        half-open (a ticket > 0 that only that probe's verdict or release frees).
        None: refused. Pass the ticket back to ``record_*`` / ``release``."""
        state = self.state
        if state is BreakerState.CLOSED:
            return 0
        if state is BreakerState.HALF_OPEN and not self._probe:
            self._probe = next(self._tickets)
            return self._probe
        return None

    def allow(self) -> bool:
        """``admit()`` for a caller that never takes the probe slot's verdict (tests)."""
        return self.admit() is not None

    def release(self, ticket: int = 0) -> None:
        """The admitted call ended with no verdict (cancelled, cut by the deadline)."""
        if ticket and ticket == self._probe:
            self._probe = 0

    def _is_probe(self, ticket: int) -> bool:
        if ticket and ticket == self._probe:
            self._probe = 0
            return True
        return False

    def record_success(self, ticket: int = 0) -> None:
        self._is_probe(ticket)
        if self._opened and self._clock() < self._hold_until:
            return  # honour the vendor's retry-after even if an old call came back
        if self._opened:
            self._opened = False
            self._probe = 0
            self._calls.clear()
            self._closed_at = self._clock()
            self.opened_at = None
        self._consecutive = 0
        self._push(True)

    def record_failure(self, ticket: int = 0, *, retry_after: float | None = None) -> None:
        was_probe = self._is_probe(ticket)
        now = self._clock()
        if retry_after:
            self._hold_until = max(self._hold_until, now + retry_after)
        if self._opened:
            self._probe_failures += was_probe
            if (retry_after and was_probe) or self._probe_failures >= self._p.probes_to_reopen:
                self._trip(now, repeat=True)
            return
        self._consecutive += 1
        self._push(False)
        if retry_after or self._should_trip():
            self._trip(now, repeat=now - self._closed_at < self._p.window_s)

    def trip(self, *, hold_s: float) -> None:
        """Open now and stay open at least ``hold_s`` (e.g. a misconfigured model)."""
        now = self._clock()
        self._hold_until = max(self._hold_until, now + hold_s)
        self._trip(now, repeat=self._opened)

    def success_rate(self) -> float:
        """Recent success rate (with the prior), not counting the current failure run."""
        self._prune()
        ok = sum(1 for _, good in self._calls if good)
        before_run = max(0, len(self._calls) - self._consecutive)
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
        if self._consecutive >= self.run_to_trip():
            return True
        n = len(self._calls)
        failures = sum(1 for _, good in self._calls if not good)
        return n >= self._p.min_calls and failures / n >= self._p.failure_rate

    def _trip(self, now: float, *, repeat: bool) -> None:
        self._trips = self._trips + 1 if repeat else 1
        open_for = min(self._p.open_s * 2 ** (self._trips - 1), self._p.max_open_s)
        self._open_until = now + open_for
        if not self._opened:
            self.opened_at = now
        self._opened = True
        self._consecutive = 0
        self._probe_failures = 0

    def _push(self, ok: bool) -> None:
        self._calls.append((self._clock(), ok))
        self._prune()

    def _prune(self) -> None:
        horizon = self._clock() - self._p.window_s
        while self._calls and self._calls[0][0] < horizon:
            self._calls.popleft()
