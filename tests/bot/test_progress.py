"""Progress events: what the router's attempts become, and how they reach a slow chat."""

import asyncio

from bot.domain import Attempt, Outcome
from bot.progress import Progress, ProgressPump, ProgressTracker, Stage

PRO, FLASH = "gemini-3-pro-image", "gemini-nano-banana-2.1"


def test_the_tracker_says_generating_then_fell_back_with_the_reason() -> None:
    seen: list[Progress] = []
    track = ProgressTracker(seen.append)
    track(PRO, ())
    track(PRO, (Attempt(PRO, "google", Outcome.SERVER_ERROR),))  # a same-model retry: silent
    track(FLASH, (Attempt(PRO, "google", Outcome.OVERLOADED),))
    assert [e.stage for e in seen] == [Stage.GENERATING, Stage.FELL_BACK]
    assert seen[1].describe() == f"{PRO} is overloaded (503) — trying {FLASH}…"


def test_a_model_skipped_as_down_is_named() -> None:
    seen: list[Progress] = []
    ProgressTracker(seen.append)(FLASH, (Attempt(PRO, "google", Outcome.SKIPPED),))
    assert seen[0].describe() == f"{PRO} is down right now — trying {FLASH}…"


async def test_events_behind_a_slow_send_collapse_into_the_newest() -> None:
    sent: list[Stage] = []
    gate = asyncio.Event()

    async def send(event: Progress) -> None:
        await gate.wait()
        sent.append(event.stage)

    pump = ProgressPump(send)
    pump.emit(Progress(Stage.QUEUED, position=2))
    await asyncio.sleep(0)
    pump.emit(Progress(Stage.GENERATING, PRO))
    pump.emit(Progress(Stage.FELL_BACK, FLASH, previous=PRO, why="is overloaded (503)"))
    gate.set()
    await pump.aclose()
    assert sent == [Stage.QUEUED, Stage.FELL_BACK]


async def test_a_failing_send_never_stops_the_pump() -> None:
    sent: list[Stage] = []

    async def send(event: Progress) -> None:
        if event.stage is Stage.QUEUED:
            raise ConnectionError("xoxb-secret-token in the message")
        sent.append(event.stage)

    pump = ProgressPump(send)
    pump.emit(Progress(Stage.QUEUED))
    await asyncio.sleep(0.01)
    pump.emit(Progress(Stage.GENERATING, PRO))
    await pump.aclose()
    assert sent == [Stage.GENERATING]
