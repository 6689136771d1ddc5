"""Progress of one job, as people see it: queued #n → generating on X → fell back
to Y (then the image itself, or a failure, which the sink shows its own way).

The router reports each call as it is sent (``on_attempt(model, earlier)``);
``ProgressTracker`` turns that into ``Progress`` events and ``ProgressPump``
hands them, in order, to the platform's sink from one task the job owns, so a
slow chat API never holds up the generation and a failing one never fails it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import Attempt, Outcome
from bot.messages import PACED, SKIPPED_PACED, WHY

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0


class Stage(StrEnum):
    QUEUED = "queued"
    GENERATING = "generating"
    FELL_BACK = "fell_back"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Progress:
    stage: Stage
    model: str | None = None  # the model being tried (or that made the image)
    previous: str | None = None  # with FELL_BACK: the model given up on
    why: str | None = None  # with FELL_BACK: words, e.g. "is overloaded (503)"
    position: int | None = None  # with QUEUED: 1-based place in the queue

    def describe(self) -> str:
        """One line for a status message."""
        if self.stage is Stage.QUEUED:
            return f"Queued (#{self.position})" if self.position else "Queued"
        if self.stage is Stage.GENERATING:
            return f"Generating with {self.model}…"
        if self.stage is Stage.FELL_BACK:
            return f"{self.previous} {self.why} — trying {self.model}…"
        return "Failed"


class ProgressTracker:
    """Turns the router's ``on_attempt`` calls into ``Progress`` events."""

    def __init__(self, emit: Callable[[Progress], None]) -> None:
        self._emit = emit
        self._started: list[str] = []

    def __call__(self, model: str, earlier: tuple[Attempt, ...]) -> None:
        if model in self._started:
            return  # a same-model retry: nothing new to say
        given_up = [a for a in earlier if a.model != model]
        if given_up:
            last = given_up[-1]
            if last.detail == SKIPPED_PACED:
                why = WHY[PACED]
            elif last.outcome is Outcome.SKIPPED:
                why = "is down right now"
            else:
                why = _why(last.outcome)
            event = Progress(Stage.FELL_BACK, model, previous=last.model, why=why)
        elif self._started:  # a hedge: the earlier call is still running, slowly
            event = Progress(Stage.FELL_BACK, model, previous=self._started[-1], why=WHY["delayed"])
        else:
            event = Progress(Stage.GENERATING, model)
        self._started.append(model)
        self._emit(event)


def _why(outcome: Outcome) -> str:
    return WHY.get(str(outcome), WHY["unavailable"])


class ProgressPump:
    """Sends events to ``send`` one at a time, in order, from one owned task; events
    that queued up behind a slow send collapse into the newest (a chat message shows
    one state; fewer edits also keep clear of the platforms' rate limits)."""

    def __init__(self, send: Callable[[Progress], Awaitable[None]]) -> None:
        self._send = send
        self._queue: asyncio.Queue[Progress] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def emit(self, event: Progress) -> None:
        self._queue.put_nowait(event)
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="job-progress")

    async def _drain(self) -> None:
        while True:
            event = await self._queue.get()
            while not self._queue.empty():  # only the newest state is worth showing
                self._queue.task_done()
                event = self._queue.get_nowait()
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S):
                    await self._send(event)
            except Exception as exc:  # the type only: a chat API error may quote a token
                log.warning("progress update not shown: %s", type(exc).__name__)
            finally:
                self._queue.task_done()

    async def aclose(self, *, flush_s: float = 5.0) -> None:
        """Let queued events go out (up to ``flush_s``), then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(flush_s):
                await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
