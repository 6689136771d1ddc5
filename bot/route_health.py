"""What is known about one route (one model on one channel): latency baseline,
EWMA, in-flight calls, stall detection, probes, and its breaker. See
``bot.health`` for the states and how the board publishes them.

The breaker is this module's own: the router admits, releases and trips through
``RouteHealth`` (``admit``, ``release``, ``trip``, ``defer_probe`` …), and the
verdicts reach the breaker through ``succeeded`` / ``failed`` / ``abandoned``."""

from __future__ import annotations

import itertools
import statistics
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from bot.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from bot.ports import Clock


class HealthState(StrEnum):
    NORMAL = "normal"
    DELAYED = "delayed"
    DOWN = "down"

    @property
    def emoji(self) -> str:
        return {"normal": "🟢", "delayed": "🟡", "down": "🔴"}[self.value]


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    window_s: float = 60.0
    ewma_alpha: float = 0.3
    delayed_factor: float = 2.0
    stall_factor: float = 1.5
    min_stall_s: float = 0.2
    probe_every_s: float | None = None  # None: 5 × baseline p50, within 1…30 s
    baseline_samples: int = 100
    min_baseline_samples: int = 5


class RouteHealth:
    """Everything known about one route. The router feeds it; the board reads it."""

    def __init__(
        self,
        label: str,
        *,
        model: str,
        channel: str,
        typical_latency_s: float,
        policy: HealthPolicy,
        breaker_policy: BreakerPolicy,
        clock: Clock,
    ) -> None:
        self.label, self.model, self.channel = label, model, channel
        # open for the route's probe interval; only this class works it (tests may
        # read it): callers go through the methods below
        self.breaker = CircuitBreaker(breaker_policy, clock, open_for=self.probe_interval)
        self._p, self._clock = policy, clock
        self._typical = typical_latency_s
        self._baseline: deque[float] = deque(maxlen=policy.baseline_samples)
        self._samples: deque[tuple[float, bool, float]] = deque()
        self._ewma: float | None = None
        self._in_flight: dict[int, float] = {}
        self._tickets: dict[int, int] = {}  # call token → its breaker ticket
        self._ids = itertools.count()
        self._last_success = -1e18
        self._last_success_start = -1e18  # when the latest successful call *began*
        self._stall_flag = False
        self._last_probe = -1e18
        self._delayed_since: float | None = None
        self.last_failure: str = ""
        self.offline: str | None = None  # why the route is off without a call (our words)

    # -- the router's side -------------------------------------------------
    def admit(self) -> int | None:
        """A breaker ticket for a call, or None: not now. Closed: always, but one call
        at a time once the next failure would trip it; half-open: the single probe.
        The ticket goes to ``begin`` (or back to ``release``)."""
        return self.breaker.admit()

    def release(self, ticket: int) -> None:
        """An admission that was never used (the call was cancelled before it was sent)."""
        self.breaker.release(ticket)

    def trip(self, *, hold_s: float) -> None:
        """Switch the route off now, for at least ``hold_s`` (a misconfigured model)."""
        self.breaker.trip(hold_s=hold_s)

    def defer_probe(self, *, at_least: float = 0.0) -> None:
        """If its breaker is open, wait another interval, and at least ``at_least`` s,
        before its probe (a better model on its channel has just failed one)."""
        self.breaker.defer(at_least=at_least)

    def begin(self, ticket: int = 0) -> int:
        """A call starts; ``ticket`` is what ``admit()`` gave it."""
        token = next(self._ids)
        self._in_flight[token] = self._clock()
        self._tickets[token] = ticket
        return token

    def succeeded(self, token: int) -> float:
        start = self._in_flight.pop(token, self._clock())
        now = self._clock()
        latency = now - start
        normal = self.state() is HealthState.NORMAL
        self._last_success, self._stall_flag = now, False
        self._last_success_start = max(self._last_success_start, start)
        if not normal and latency <= 1.5 * self.baseline_p50():
            self._ewma = latency  # a fast answer ends "delayed" at once
        else:
            self._ewma = self._blend(latency)
        if normal:
            self._baseline.append(latency)
        self._samples.append((now, True, latency))
        self.breaker.record_success(self._tickets.pop(token, 0))
        return latency

    def failed(
        self,
        token: int,
        outcome: str,
        *,
        retry_after: float | None = None,
        sibling_down: bool = False,
    ) -> float:
        start = self._in_flight.pop(token, self._clock())
        latency = self._clock() - start
        if outcome == "timeout":
            self._stall_flag = True
        self.last_failure = outcome
        self._samples.append((self._clock(), False, latency))
        self.breaker.record_failure(
            self._tickets.pop(token, 0), retry_after=retry_after, sibling_down=sibling_down
        )
        return latency

    def abandoned(self, token: int, *, counts_as_stall: bool = True) -> float:
        """The call was cancelled (lost a hedge race, or the request ended)."""
        start = self._in_flight.pop(token, self._clock())
        latency = self._clock() - start
        if counts_as_stall and latency > self.stall_after() and start > self._last_success_start:
            self._stall_flag = True
            self.last_failure = "delayed"
        self.breaker.release(self._tickets.pop(token, 0))
        return latency

    def probe_interval(self) -> float:
        """How often a sick route is tried (delayed: a probe; down: the breaker's open
        period): 5 × its usual p50, within 1…30 s — time-based, whatever the traffic."""
        return self._p.probe_every_s or min(30.0, max(1.0, 5 * self.baseline_p50()))

    def claim_probe(self) -> bool:
        """May this request probe the delayed route? A *stalled* one from which nothing
        has come back for a stall threshold (hung, not just slow): one request per
        quarter of that threshold, hedged at once — a call to a hanging model costs
        nothing but a connection, the router keeps at most a few
        (``Router.keep_probe``), and the first one after the model is back brings it
        back within about a usual latency and a quarter threshold (were every request
        a probe, a model that is only very slow would bill each one twice). A *slow*
        one: one request per usual p95 (1…30 s), hedged after the usual budget, so
        when the model is fast again that request gets its image."""
        now = self._clock()
        if self.stalled() and now - self._last_success > self.stall_after():
            every, since = self.stall_after() / 4, self._last_probe  # hung: at once, then…
        else:
            every = min(30.0, max(1.0, self.baseline_p95()))
            since = max(self._last_probe, self._delayed_since or now)
        if now - since < every:
            return False
        self._last_probe = now
        return True

    def take_offline(self, note: str) -> None:
        """Off until ``bring_online``: the channel does not serve the model (its model
        list lacks it, or it answered 404). ``note`` says why, in our own words."""
        self.offline = note

    def bring_online(self) -> None:
        self.offline = None

    # -- reading -----------------------------------------------------------
    def state(self) -> HealthState:
        if self.offline is not None or self.tripped:
            state = HealthState.DOWN
        elif self.stalled() or self._slow():
            state = HealthState.DELAYED
        else:
            state = HealthState.NORMAL
        if state is HealthState.DELAYED and self._delayed_since is None:
            self._delayed_since = self._clock()  # the probe interval counts from here
        elif state is not HealthState.DELAYED:
            self._delayed_since = None
        return state

    @property
    def tripped(self) -> bool:
        """Its breaker is open, or half-open waiting for its probe."""
        return self.breaker.state is not BreakerState.CLOSED

    @property
    def held(self) -> bool:
        """Inside a vendor's retry-after (or an admin hold): never overridden."""
        return self.breaker.held

    @property
    def reopens_in(self) -> float:
        """Seconds left of its breaker's open period or hold (0: not open)."""
        return self.breaker.reopens_in

    def open_period(self) -> float:
        """How long a trip keeps its breaker open (its probe interval, capped)."""
        return self.breaker.open_period()

    def _slow(self) -> bool:
        base = self.baseline_p50()
        limit = max(self._p.delayed_factor * base, base + self._p.min_stall_s)
        return self._ewma is not None and self._ewma > limit

    def stalled(self) -> bool:
        if self._stall_flag:
            return True
        horizon = self._clock() - self.stall_after()
        return any(self._last_success_start < t < horizon for t in self._in_flight.values())

    def stall_due(self) -> float | None:
        """When the route will count as stalled if nothing that began later succeeds."""
        starts = [t for t in self._in_flight.values() if t > self._last_success_start]
        return min(starts) + self.stall_after() if starts else None

    def stall_after(self) -> float:
        return max(self._p.min_stall_s, self._p.stall_factor * self.baseline_p95())

    def baseline_p50(self) -> float:
        if len(self._baseline) < self._p.min_baseline_samples:
            return self._typical
        return statistics.median(self._baseline)

    def baseline_p95(self) -> float:
        if len(self._baseline) < self._p.min_baseline_samples:
            return 1.5 * self._typical
        ordered = sorted(self._baseline)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    def window(self) -> list[tuple[float, bool, float]]:
        horizon = self._clock() - self._p.window_s
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        return list(self._samples)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def _blend(self, latency: float) -> float:
        a = self._p.ewma_alpha
        return latency if self._ewma is None else a * latency + (1 - a) * self._ewma
