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

Breakers are shared between processes through ``bot.shared_health``: the board
tells ``on_breaker`` listeners of each local trip and close (``BreakerNews``) and
``adopt`` applies another process's.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.breaker import BreakerPolicy, BreakerState
from bot.ports import Clock
from bot.route_health import HealthPolicy, HealthState, RouteHealth

__all__ = [
    "BreakerNews",
    "HealthBoard",
    "HealthEvent",
    "HealthPolicy",
    "HealthState",
    "RouteStatus",
]

log = logging.getLogger(__name__)


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
    note: str = ""  # reason "offline": why, in our words ("not offered by google")


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
    note: str = ""  # reason "offline": why, in our words
    breaker: BreakerState = BreakerState.CLOSED


@dataclass(frozen=True, slots=True)
class BreakerNews:
    """A route's breaker tripped (open ``open_s`` more seconds, held ``hold_s`` by a
    vendor's retry-after or an admin hold) or closed (``opened`` False): recovered."""

    route: str
    opened: bool
    open_s: float = 0.0
    hold_s: float = 0.0
    reason: str = ""  # the failure that tripped it ("overloaded", "rate_limited" …)


Subscriber = Callable[[HealthEvent], None]
BreakerListener = Callable[[BreakerNews], None]


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
        self._breaker_listeners: list[BreakerListener] = []
        self.notices: list[str] = []  # e.g. "⏳ X shuts down on D — …" (bot.freshness)

    def add(self, label: str, *, model: str, channel: str, typical_latency_s: float) -> RouteHealth:
        rh = RouteHealth(
            label,
            model=model,
            channel=channel,
            typical_latency_s=typical_latency_s,
            policy=self._policy,
            breaker_policy=self._breaker_policy,
            clock=self._clock,
        )
        rh.breaker.on_change = lambda opened: self._breaker_changed(label, opened)
        self._routes[label] = rh
        self._last[label] = HealthState.NORMAL
        self._primary = self._primary or label
        return rh

    def __getitem__(self, label: str) -> RouteHealth:
        return self._routes[label]

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def on_breaker(self, fn: BreakerListener) -> Callable[[], None]:
        """``fn`` is told of each trip and close of a breaker made by this process."""
        self._breaker_listeners.append(fn)
        return lambda: self._breaker_listeners.remove(fn)

    def adopt(self, news: BreakerNews) -> None:
        """Another process's trip or close, applied here (no call counted), then the
        transitions published as if seen here. A route this process lacks: ignored."""
        rh = self._routes.get(news.route)
        if rh is None:
            return
        if news.opened:
            rh.last_failure = news.reason or rh.last_failure or "unavailable"
            rh.breaker.adopt_trip(open_s=news.open_s, hold_s=news.hold_s)
        else:
            rh.breaker.adopt_close()
        self.refresh()

    def _breaker_changed(self, label: str, opened: bool) -> None:
        breaker = self._routes[label].breaker
        news = BreakerNews(
            label,
            opened,
            open_s=breaker.open_for if opened else 0.0,
            hold_s=breaker.held_for if opened else 0.0,
            reason=self._routes[label].last_failure if opened else "",
        )
        if opened:
            quiet = max(news.open_s, news.hold_s)
            log.warning("%s tripped (%s): not called for %.0f s", label, news.reason, quiet)
        else:
            log.info("%s recovered", label)
        for fn in list(self._breaker_listeners):
            try:
                fn(news)
            except Exception:
                log.exception("breaker listener failed on %s", label)

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
                kind, reason = "down", _down_reason(rh)
            elif new is HealthState.DELAYED and old is HealthState.NORMAL:
                kind, reason = "delayed", "stalled" if rh.stalled() else "slow"
            else:
                kind, reason = "recovered", ""
            note = (rh.offline or "") if new is HealthState.DOWN else ""
            self._emit(
                HealthEvent(kind, label, new, old, self._wall(), reason, down_for, note=note)
            )
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
                    reason=_down_reason(rh)
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
                    note=rh.offline or "",
                    breaker=rh.breaker.state,
                )
            )
        return out

    def _emit(self, event: HealthEvent) -> None:
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:
                log.exception("health subscriber failed on %s", event.kind)


def _down_reason(rh: RouteHealth) -> str:
    return "offline" if rh.offline is not None else rh.last_failure or "unavailable"
