"""Owned background tasks: stopping one the way every owner in the core does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it to end; a cancellation of the *caller* still
    propagates (never swallowed), the task's own is not re-raised."""
    if task is None or task.done():
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class Every:
    """``step()`` every ``period_s`` seconds in a task this object owns: ``start`` (again:
    no-op), ``aclose`` cancels it and waits. A step that raises is logged and the next one
    runs on time; one that overruns delays the next (steps never overlap)."""

    def __init__(self, period_s: float, step: Callable[[], Awaitable[object]], *, name: str):
        if not period_s > 0:
            raise ValueError("period_s must be positive")
        self._period, self._step, self._name = period_s, step, name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._period)
            try:
                await self._step()
            except Exception:
                log.exception("%s: a periodic step failed; the next runs on time", self._name)
