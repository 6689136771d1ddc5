"""Owned background tasks: a periodic step goes on after a failure and stops when closed."""

import asyncio
import logging

import pytest

from bot.tasks import Every


async def test_a_periodic_step_survives_a_failure_and_stops_when_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []

    async def step() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ConnectionError("database away")

    every = Every(0.02, step, name="test-step")
    every.start()
    every.start()  # again: still one task
    with caplog.at_level(logging.ERROR, logger="bot.tasks"):
        for _ in range(200):
            if len(runs) >= 3:
                break
            await asyncio.sleep(0.01)
    await every.aclose()
    assert len(runs) >= 3 and not every.running
    assert "test-step: a periodic step failed" in caplog.text
    stopped = len(runs)
    await asyncio.sleep(0.06)
    assert len(runs) == stopped  # no step after aclose
