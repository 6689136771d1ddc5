"""Tell every workspace's status channel when a model goes down, slows, recovers,
or the bot starts generating with another model.

``Announcer.on_event`` is the ``HealthBoard`` subscriber: it runs inside the
router, so it only appends to an inbox and wakes the announcer's one task; it
never blocks or raises. That task decides what to say and posts it through one
``StatusPoster`` per platform to ``GuildSettings.status_channels()``.

Debounce, per route, on the injected ``clock``:

- **settle** (``settle_s``, 20 s): "down" and "delayed" are said only once the
  route has stayed so for ``settle_s``; a flap inside it (down → recovered) says
  nothing and uses no cooldown. Down → delayed, settled, is said as "back after
  N down, but still slow".
- **recovery** is said at once, and only if the bad state it ends was said,
  with how long it was down: the board's ``down_for_s`` from the event that
  ended the down, else measured here (for a route only said to be slow: from
  when it left normal).
- **cooldown** (``cooldown_s``, 5 min): at most one "down" and one "delayed" per
  route per cooldown. One that settles inside it is *held*: said when the
  cooldown ends if the route is still in that state, forgotten if it recovered
  meanwhile (and that recovery is not said either). A recovery is never held,
  so channels are never left saying "down" for a model that works.
- **primary changes** collapse: the first opens a ``settle_s`` window and only
  the primary at its end counts. Nothing is said if it ends where it began or
  where channels were last told requests go; route announcements name the new
  primary only when it differs from that. A change is held until ``cooldown_s``
  after channels were last told where requests go, unless it is to or from "no
  model at all".

What falls due together goes out as one message (lines joined).

**Several processes** (``claims``, e.g. Redis ``SET NX`` with a TTL): each process
announces from its own board (trips are shared, ``bot.shared_health``), and each
line is posted only by the process that claims its key first — the route and the
change said (``gemini-3-pro-image:normal>down``; ``primary:A>B``). A bad-news key
lasts ``cooldown_s`` (one "down" per route per cooldown across processes); a
recovery's or primary change's, ``settle_s`` (two of those are always at least a
settle apart); each at least ``MIN_CLAIM_S`` (how far apart processes may decide
the same line). A claim that cannot be made (the claims store is down) posts.

Workspaces: ``status_channels()`` keys are ``"<platform>:<id>"`` (``slack:T123``,
``discord:456``). A poster gets only the keys whose platform (before the first
``:``) is its ``platform``, and gets the **full key** unchanged: the adapter
strips its prefix. Each post runs under ``post_timeout_s``; one that raises or
hangs is logged (exception type only: the message could carry a token) and
does not hold up the other workspaces.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot.guild_settings import GuildSettings
from bot.health import HealthBoard, HealthEvent, HealthState
from bot.ports import Claims, Clock
from bot.status_text import delayed_text, down_text, primary_text, recovered_text
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
MIN_CLAIM_S = 2.0


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("status announcer stopped", exc_info=task.exception())


class StatusPoster(Protocol):
    """One platform's way to post in a channel; ``workspace`` is the full key."""

    platform: str  # "slack" | "discord"

    async def post_status(self, *, workspace: str, channel: str, text: str) -> None: ...


@dataclass
class _Route:
    actual: HealthState = HealthState.NORMAL
    said: HealthState = HealthState.NORMAL
    event: HealthEvent | None = None  # the latest event about this route
    changed_at: float = 0.0
    bad_since: float = 0.0  # when it left normal
    down_since: float = 0.0
    down_for: float | None = None  # the board's figure for the down stint that ended
    check_at: float | None = None
    last_said: dict[HealthState, float] = field(default_factory=dict)


@dataclass
class _PrimaryChange:
    was: str | None  # the primary before the window's first change
    latest: HealthEvent  # the window's latest change
    due: float


class Announcer:
    def __init__(
        self,
        board: HealthBoard,
        guilds: GuildSettings,
        posters: Iterable[StatusPoster],
        *,
        settle_s: float = 20.0,
        cooldown_s: float = 300.0,
        post_timeout_s: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        claims: Claims | None = None,
    ) -> None:
        self._board, self._guilds, self._posters = board, guilds, tuple(posters)
        self._claims = claims
        self._settle, self._cooldown, self._timeout = settle_s, cooldown_s, post_timeout_s
        self._clock, self._sleep = clock, sleep
        self._inbox: deque[tuple[HealthEvent, float]] = deque()
        self._routes: dict[str, _Route] = {}
        self._primary = self._told = board.primary()  # read again at start()
        self._told_at = -math.inf
        self._change: _PrimaryChange | None = None
        self._wake, self._idle = asyncio.Event(), asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        """Subscribe to the board and start the one task that announces."""
        if self._task is not None:
            raise RuntimeError("announcer already started")
        self._primary = self._told = self._board.primary()
        self._unsubscribe = self._board.subscribe(self.on_event)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="announcer")
        self._task.add_done_callback(_report_crash)

    async def aclose(self) -> None:
        """Unsubscribe, cancel the task and wait for it. Unsaid events are dropped."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def __aenter__(self) -> Announcer:
        self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def on_event(self, event: HealthEvent) -> None:
        """The board subscriber: record the event and wake the task. Never blocks."""
        self._inbox.append((event, self._clock()))
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self) -> None:
        """Until every event received so far is dealt with and nothing is due now."""
        while True:
            if self._task is None or self._task.done():
                raise RuntimeError("announcer is not running")
            await self._idle.wait()
            due = self._next_due()
            if due is None or due > self._clock():
                return
            await asyncio.sleep(0)  # a timer just fired: let the task see it

    # -- the task --------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            self._wake.clear()
            while self._inbox:
                self._absorb(*self._inbox.popleft())
            lines = [
                line
                for key, ttl, line in self._due_lines(self._clock())
                if await self._claim(key, ttl)
            ]
            if lines:
                await self._post("\n".join(lines))
            if self._inbox:
                continue
            due, now = self._next_due(), self._clock()
            if due is not None and due <= now:
                continue
            self._idle.set()
            try:
                await self._wait(None if due is None else due - now)
            finally:
                self._idle.clear()

    async def _wait(self, delay: float | None) -> None:
        if delay is None:
            await self._wake.wait()
            return
        waiters = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(self._sleep(delay)),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _next_due(self) -> float | None:
        times = [r.check_at for r in self._routes.values() if r.check_at is not None]
        if self._change is not None:
            times.append(self._change.due)
        return min(times, default=None)

    # -- what to say -------------------------------------------------------------
    def _absorb(self, event: HealthEvent, at: float) -> None:
        if event.kind == "primary_changed":
            self._primary = event.primary
            if self._change is None:
                self._change = _PrimaryChange(event.previous_primary, event, at + self._settle)
            else:
                self._change.latest = event
            return
        if event.route is None or event.state is None:
            return
        r = self._routes.setdefault(event.route, _Route())
        new = event.state
        if new is HealthState.DOWN and r.actual is not HealthState.DOWN:
            r.down_since, r.down_for = at, None
        if r.actual is HealthState.DOWN and new is not HealthState.DOWN:
            r.down_for = event.down_for_s
        if r.actual is HealthState.NORMAL and new is not HealthState.NORMAL:
            r.bad_since = at
        r.actual, r.event, r.changed_at = new, event, at
        r.check_at = at if new is HealthState.NORMAL else at + self._settle

    async def _claim(self, key: str, ttl_s: float) -> bool:
        """Is this process the one to post the line ``key``? (No claims: always.)"""
        if self._claims is None:
            return True
        try:
            return await self._claims.claim(f"announce:{key}", ttl_s=max(MIN_CLAIM_S, ttl_s))
        except Exception:  # the port never raises; a bug in one must not silence channels
            log.exception("announcement claim failed; posting")
            return True

    def _due_lines(self, now: float) -> list[tuple[str, float, str]]:
        """(claim key, its TTL, line) for what falls due now."""
        lines = []
        for label, r in self._routes.items():
            if r.check_at is not None and r.check_at <= now:
                r.check_at = None
                said = r.said
                line = self._reconcile(label, r, now)
                if line:
                    bad = r.actual is not HealthState.NORMAL and said is not HealthState.DOWN
                    ttl = self._cooldown if bad else self._settle
                    lines.append((f"{label}:{said}>{r.actual}", ttl, line))
        change = self._change
        if change is not None and change.due <= now:
            self._change = None
            latest = change.latest.primary
            if latest not in (change.was, self._told):
                urgent = latest is None or self._told is None  # to or from "no model at all"
                if not urgent and now < self._told_at + self._cooldown:
                    change.due = self._told_at + self._cooldown  # held, as a flapping route's
                    self._change = change
                else:
                    text = primary_text(replace(change.latest, previous_primary=self._told))
                    lines.append((f"primary:{self._told}>{latest}", self._settle, text))
                    self._tell(latest, now)
        return lines

    def _tell(self, primary: str | None, now: float) -> None:
        """Channels are being told requests go to ``primary``."""
        self._told, self._told_at = primary, now

    def _reconcile(self, label: str, r: _Route, now: float) -> str | None:
        """What to say so channels match the route's state; None: nothing (yet)."""
        actual, said, event = r.actual, r.said, r.event
        if actual is said or event is None:
            return None
        moved = self._primary != self._told  # say where requests go only if that changed
        if actual is HealthState.NORMAL:  # good news is never held
            r.said = actual
            if said is HealthState.DOWN:
                took = r.down_for if r.down_for is not None else now - r.down_since
            else:
                took = now - r.bad_since
            if moved:
                self._tell(self._primary, now)
            return recovered_text(event, down_for_s=took, primary=self._primary if moved else None)
        if now < r.changed_at + self._settle:
            r.check_at = r.changed_at + self._settle
            return None
        if said is HealthState.DOWN:  # down → delayed: back, but slow
            r.said = actual
            took = r.down_for if r.down_for is not None else now - r.down_since
            return recovered_text(event, down_for_s=took)  # its state is DELAYED
        last = r.last_said.get(actual)
        if last is not None and now < last + self._cooldown:
            r.check_at = last + self._cooldown  # held; dropped if it recovers first
            return None
        r.said, r.last_said[actual] = actual, now
        if moved:
            self._tell(self._primary, now)
        if actual is HealthState.DOWN:
            return down_text(event, primary=self._primary, moved=moved)
        p50 = next((s.p50_ms for s in self._board.snapshot() if s.label == label), None)
        return delayed_text(event, primary=self._primary, p50_ms=p50, moved=moved)

    # -- posting -----------------------------------------------------------------
    async def post(self, text: str) -> None:
        """Say ``text`` in every status channel now (e.g. a shutdown notice)."""
        await self._post(text)

    async def _post(self, text: str) -> None:
        try:
            channels = await self._guilds.status_channels()
        except Exception as exc:
            log.error(
                "status channels unavailable (%s); not announced: %s", type(exc).__name__, text
            )
            return
        log.info("announcing: %s", text)
        async with asyncio.TaskGroup() as group:
            for poster in self._posters:
                for workspace, channel in channels.items():
                    if workspace.split(":", 1)[0] == poster.platform:
                        group.create_task(self._post_one(poster, workspace, channel, text))

    async def _post_one(
        self, poster: StatusPoster, workspace: str, channel: str, text: str
    ) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await poster.post_status(workspace=workspace, channel=channel, text=text)
        except TimeoutError:
            log.warning("status post to %s timed out after %g s", workspace, self._timeout)
        except Exception as exc:
            log.warning("status post to %s failed: %s", workspace, type(exc).__name__)
