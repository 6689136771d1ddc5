"""Per-route health: success rate, latency (p50, EWMA, baseline), 🟢/🟡/🔴 state,
stall awareness, and transition events for announcers and status pages.

A route is one model on one channel; its label is the model id, or
``model@channel`` when the model is served by more than one channel.

- 🔴 down: its breaker is not closed (open or waiting for its half-open probe).
- 🟡 delayed: its latency EWMA is over ``delayed_factor`` × its baseline p50, or
  it is *stalled*: a call is in flight longer than ``stall_factor`` × baseline
  p95 and no call that began after it has succeeded (a model that stopped
  answering is known to be delayed long before any timeout fires; calls begun
  before a slowdown that still come back normally do not hide it). Delayed routes are
  demoted, not tripped; they get one probe request every ``probe_every_s``.
- 🟢 normal otherwise. The baseline learns only from normal-state successes.
"""

from __future__ import annotations

import itertools
import logging
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from bot.ports import Clock

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class HealthEvent:
    kind: str  # "down" | "delayed" | "recovered" | "primary_changed"
    route: str | None
    state: HealthState | None
    previous: HealthState | None
    at: datetime
    reason: str = ""
    down_for_s: float | None = None
    primary: str | None = None
    previous_primary: str | None = None


@dataclass(frozen=True, slots=True)
class RouteStatus:
    label: str
    model: str
    channel: str
    state: HealthState
    reason: str
    p50_ms: int | None
    success_rate: float | None
    calls: int
    in_flight: int
    since: datetime | None  # when it entered its current non-normal state


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
        breaker: CircuitBreaker,
        clock: Clock,
    ) -> None:
        self.label, self.model, self.channel = label, model, channel
        self.breaker = breaker
        self._p, self._clock = policy, clock
        self._typical = typical_latency_s
        self._baseline: deque[float] = deque(maxlen=policy.baseline_samples)
        self._samples: deque[tuple[float, bool, float]] = deque()
        self._ewma: float | None = None
        self._in_flight: dict[int, float] = {}
        self._ids = itertools.count()
        self._last_success = -1e18
        self._last_success_start = -1e18  # when the latest successful call *began*
        self._stall_flag = False
        self._last_probe = -1e18
        self._delayed_since: float | None = None
        self.last_failure: str = ""

    # -- the router's side -------------------------------------------------
    def begin(self) -> int:
        token = next(self._ids)
        self._in_flight[token] = self._clock()
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
        self.breaker.record_success()
        return latency

    def failed(self, token: int, outcome: str, *, retry_after: float | None = None) -> float:
        start = self._in_flight.pop(token, self._clock())
        latency = self._clock() - start
        if outcome == "timeout":
            self._stall_flag = True
        self.last_failure = outcome
        self._samples.append((self._clock(), False, latency))
        self.breaker.record_failure(retry_after=retry_after)
        return latency

    def abandoned(self, token: int, *, counts_as_stall: bool = True) -> float:
        """The call was cancelled (lost a hedge race, or the request ended)."""
        start = self._in_flight.pop(token, self._clock())
        latency = self._clock() - start
        if counts_as_stall and latency > self.stall_after() and start > self._last_success_start:
            self._stall_flag = True
            self.last_failure = "delayed"
        self.breaker.release()
        return latency

    def claim_probe(self) -> bool:
        """A delayed route gets one probe request per probe interval."""
        now = self._clock()
        every = self._p.probe_every_s or min(30.0, max(1.0, 5 * self.baseline_p50()))
        if now - max(self._last_probe, self._delayed_since or now) < every:
            return False
        self._last_probe = now
        return True

    # -- reading -----------------------------------------------------------
    def state(self) -> HealthState:
        if self.breaker.state is not BreakerState.CLOSED:
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


Subscriber = Callable[[HealthEvent], None]


class HealthBoard:
    """All routes in chain order; publishes transitions to subscribers."""

    def __init__(
        self,
        clock: Clock,
        *,
        policy: HealthPolicy | None = None,
        breaker_policy: BreakerPolicy | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock, self._wall = clock, wall
        self._policy = policy or HealthPolicy()
        self._breaker_policy = breaker_policy or BreakerPolicy()
        self._routes: dict[str, RouteHealth] = {}
        self._last: dict[str, HealthState] = {}
        self._since: dict[str, float] = {}
        self._primary: str | None = None
        self._subscribers: list[Subscriber] = []

    def add(self, label: str, *, model: str, channel: str, typical_latency_s: float) -> RouteHealth:
        rh = RouteHealth(
            label,
            model=model,
            channel=channel,
            typical_latency_s=typical_latency_s,
            policy=self._policy,
            breaker=CircuitBreaker(self._breaker_policy, self._clock),
            clock=self._clock,
        )
        self._routes[label] = rh
        self._last[label] = HealthState.NORMAL
        self._primary = self._primary or label
        return rh

    def __getitem__(self, label: str) -> RouteHealth:
        return self._routes[label]

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def primary(self) -> str | None:
        """The route a plain request would use first right now."""
        states = {label: rh.state() for label, rh in self._routes.items()}
        for wanted in (HealthState.NORMAL, HealthState.DELAYED):
            for label, state in states.items():
                if state is wanted:
                    return label
        return None

    def refresh(self) -> None:
        """Compare states with the last look and publish what changed."""
        now = self._clock()
        for label, rh in self._routes.items():
            new, old = rh.state(), self._last[label]
            if new is old:
                continue
            self._last[label] = new
            down_for = now - self._since[label] if old is HealthState.DOWN else None
            self._since[label] = now
            if new is HealthState.DOWN:
                kind, reason = "down", rh.last_failure or "unavailable"
            elif new is HealthState.DELAYED and old is HealthState.NORMAL:
                kind, reason = "delayed", "stalled" if rh.stalled() else "slow"
            else:
                kind, reason = "recovered", ""
            self._emit(HealthEvent(kind, label, new, old, self._wall(), reason, down_for))
        primary = self.primary()
        if primary != self._primary:
            previous, self._primary = self._primary, primary
            self._emit(
                HealthEvent(
                    "primary_changed",
                    None,
                    None,
                    None,
                    self._wall(),
                    primary=primary,
                    previous_primary=previous,
                )
            )

    def snapshot(self) -> list[RouteStatus]:
        out = []
        now = self._clock()
        for label, rh in self._routes.items():
            window = rh.window()
            ok = [lat for _, good, lat in window if good]
            state = rh.state()
            since = self._since.get(label) if state is not HealthState.NORMAL else None
            out.append(
                RouteStatus(
                    label=label,
                    model=rh.model,
                    channel=rh.channel,
                    state=state,
                    reason=rh.last_failure
                    if state is HealthState.DOWN
                    else ("stalled" if rh.stalled() else "slow")
                    if state is HealthState.DELAYED
                    else "",
                    p50_ms=round(statistics.median(ok) * 1000) if ok else None,
                    success_rate=len(ok) / len(window) if window else None,
                    calls=len(window),
                    in_flight=rh.in_flight,
                    since=self._wall() - timedelta(seconds=now - since)
                    if since is not None
                    else None,
                )
            )
        return out

    def _emit(self, event: HealthEvent) -> None:
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:
                log.exception("health subscriber failed on %s", event.kind)
