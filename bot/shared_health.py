"""Breaker trips and recoveries shared between processes, so that every process
sees a model go down (and come back) within a second of the first to find out.

``SharedHealth`` joins a ``HealthBoard`` to a ``HealthBus`` (a port: the adapter
is Redis pub/sub, ``adapters/shared``):

- **out**: each trip and close of a breaker made *here* (``HealthBoard.on_breaker``)
  is published — the latest per route, by one task, so the router never waits on
  the network. A re-trip after a failed probe is published too: the other
  processes wait out the same interval instead of each probing the sick model.
- **in**: another process's trip opens this process's breaker for the same route
  for the rest of its open period and hold (no failure is counted here, and this
  process's own verdicts stay its own); its recovery closes it (never inside a
  vendor's retry-after held here). The board then publishes the transitions to its
  subscribers (announcer, status page) as if they had been seen here.

The bus is best effort: when it is unreachable each process keeps its own
health, exactly as without one, and the adapter says so once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from bot.health import BreakerNews, HealthBoard
from bot.tasks import cancel_and_wait

__all__ = ["BreakerNews", "HealthBus", "SharedHealth"]

log = logging.getLogger(__name__)


class HealthBus(Protocol):
    """How processes tell each other of breaker trips and recoveries."""

    async def publish(self, news: BreakerNews) -> None:
        """Tell the other processes (best effort: never raises, bounded in time)."""
        ...

    async def listen(self, deliver: Callable[[BreakerNews], None]) -> None:
        """Call ``deliver`` with each *other* process's news until cancelled — trips
        still in force first, on every (re)connection. Never returns; reconnects."""
        ...


class SharedHealth:
    def __init__(self, board: HealthBoard, bus: HealthBus) -> None:
        self._board, self._bus = board, bus
        self._outbox: dict[str, BreakerNews] = {}
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Listen to the board's breakers and to the bus (two owned tasks)."""
        if self._tasks:
            raise RuntimeError("shared health already started")
        self._unsubscribe = self._board.on_breaker(self._local)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._publish(), name="shared-health:out"),
            loop.create_task(self._bus.listen(self._remote), name="shared-health:in"),
        ]
        for task in self._tasks:
            task.add_done_callback(_report_crash)

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await cancel_and_wait(task)

    async def __aenter__(self) -> SharedHealth:
        self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def _local(self, news: BreakerNews) -> None:
        """A breaker here tripped or closed (inside the router: never blocks)."""
        self._outbox[news.route] = news
        self._ready.set()

    def _remote(self, news: BreakerNews) -> None:
        log.info(
            "%s %s in another process%s",
            news.route,
            "tripped" if news.opened else "recovered",
            f" ({news.reason})" if news.reason else "",
        )
        self._board.adopt(news)

    async def _publish(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._outbox:
                route = next(iter(self._outbox))
                await self._bus.publish(self._outbox.pop(route))


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("shared health stopped: %s", task.get_name(), exc_info=task.exception())
