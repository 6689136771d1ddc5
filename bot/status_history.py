"""Recent model health over time, for the status page and the status chart.

``StatusHistory`` samples the ``HealthBoard`` every ``every_s`` (and at each of its
events) into one bounded ring per route — state, p50 latency and success rate over
the board's window — for the last ``keep_s``; and keeps the latest transitions in
the status channel's words (``bot.status_text.announcement``) with their times.
It owns one sampling task (``start`` / ``aclose``). Listeners (``listen``) are told
after every sample, so a status page can push the new view; like the board's
subscribers they are called synchronously and must not block.

``status_document`` is the JSON both the page and ``/status.json`` serve. It
carries model health only: labels, states, figures, our own words — never a
prompt, a user, a workspace or a thread (none of those reach the board).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.health import HealthBoard, HealthEvent, HealthState
from bot.ports import Clock
from bot.status_text import StatusView, announcement
from bot.tasks import cancel_and_wait

__all__ = ["Point", "StatusHistory", "Transition", "status_document"]

log = logging.getLogger(__name__)

Listener = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime  # wall clock, UTC
    state: HealthState
    p50_ms: int | None  # over the board's window (60 s)
    success: float | None  # 0…1 over the same window; None: no calls in it


@dataclass(frozen=True, slots=True)
class Transition:
    at: datetime
    kind: str  # "down" | "delayed" | "recovered" | "primary_changed"
    route: str | None
    text: str  # as the status channel says it


class StatusHistory:
    def __init__(
        self,
        board: HealthBoard,
        *,
        every_s: float = 5.0,
        keep_s: float = 1800.0,
        transitions: int = 20,
        min_gap_s: float = 1.0,
        clock: Clock = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._board, self._every, self._keep = board, every_s, keep_s
        self._gap, self._clock, self._wall, self._sleep = min_gap_s, clock, wall, sleep
        # a sample per interval plus as many event samples (at most one per min_gap_s)
        self._size = 2 * math.ceil(keep_s / every_s) + 2
        self._points: dict[str, deque[Point]] = {}
        self._transitions: deque[Transition] = deque(maxlen=transitions)
        self._listeners: list[Listener] = []
        self._last_sample = -math.inf
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("status history already started")
        self._unsubscribe = self._board.subscribe(self._on_event)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="status-history")

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            self.sample()
            await self._sleep(self._every)

    def listen(self, fn: Listener) -> Callable[[], None]:
        """``fn()`` after every sample (periodic or at a health event)."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn)

    # -- recording -------------------------------------------------------------
    def sample(self, *, instead_of_last: bool = False) -> None:
        """Record each route's state now (``instead_of_last``: overwrite the latest
        point rather than add one)."""
        now, horizon = self._wall(), self._wall() - timedelta(seconds=self._keep)
        self._last_sample = self._clock()
        for status in self._board.snapshot():
            ring = self._points.setdefault(status.label, deque(maxlen=self._size))
            if instead_of_last and ring:
                ring.pop()
            ring.append(Point(now, status.state, status.p50_ms, status.success_rate))
            while ring and ring[0].at < horizon:
                ring.popleft()
        self._tell()

    def _tell(self) -> None:
        for fn in list(self._listeners):
            try:
                fn()
            except Exception:
                log.exception("status history listener failed")

    def _on_event(self, event: HealthEvent) -> None:
        """The board subscriber: remember the transition in the status channel's words,
        and sample now — adding a point at most once per ``min_gap_s`` (a flapping
        route must not push the older history out), else updating the latest."""
        p50 = None
        if event.kind == "delayed":
            p50 = next((s.p50_ms for s in self._board.snapshot() if s.label == event.route), None)
        text = announcement(event, primary=self._board.primary(), p50_ms=p50)
        self._transitions.append(Transition(event.at, event.kind, event.route, text))
        self.sample(instead_of_last=self._clock() - self._last_sample < self._gap)

    # -- reading ---------------------------------------------------------------
    def points(self) -> dict[str, list[Point]]:
        return {label: list(ring) for label, ring in self._points.items()}

    def transitions(self) -> list[Transition]:
        """Newest last."""
        return list(self._transitions)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_document(view: StatusView, history: StatusHistory, now: datetime) -> dict[str, Any]:
    """What ``/status.json`` and the page's event stream carry. ``series`` points are
    ``[unix ms, state, p50 ms | null, success % | null]``."""
    points = history.points()
    models = []
    for r in view.rows:
        series = [
            [
                round(p.at.timestamp() * 1000),
                p.state.value,
                p.p50_ms,
                None if p.success is None else round(p.success * 100, 1),
            ]
            for p in points.get(r.label, [])
        ]
        models.append(
            {
                "label": r.label,
                "state": r.state_word,
                "emoji": r.emoji,
                "p50": r.p50,
                "success": r.success,
                "since": r.since,
                "reason": r.reason,
                "primary": r.primary,
                "series": series,
            }
        )
    return {
        "at": _stamp(now),
        "primary": view.primary,
        "online": view.online,
        "total": view.total,
        "summary": f"{view.online}/{view.total} models online",
        "models": models,
        "transitions": [
            {"at": _stamp(t.at), "kind": t.kind, "text": t.text}
            for t in reversed(history.transitions())
        ],
        "notices": list(view.notices),
    }
