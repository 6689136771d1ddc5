"""The status page's history: bounded per-route samples, transitions in the status
channel's words, an owned sampling task, and a JSON document with no private data."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from bot.breaker import BreakerPolicy
from bot.health import HealthBoard, HealthPolicy, HealthState
from bot.status_history import StatusHistory, status_document
from bot.status_text import status_view
from tests.bot.fakes import FakeClock


class Wall:
    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.t0 = clock, datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t0 + timedelta(seconds=self.clock.now - 1000.0)


def world(**kw: float) -> tuple[HealthBoard, FakeClock, StatusHistory]:
    clock = FakeClock()
    wall = Wall(clock)
    b = HealthBoard(
        clock, policy=HealthPolicy(), breaker_policy=BreakerPolicy(open_s=30), wall=wall
    )
    for label, lat in (("pro", 1.0), ("flash", 0.5)):
        b.add(label, model=label, channel="google", typical_latency_s=lat)
    return b, clock, StatusHistory(b, clock=clock, wall=wall, **kw)


def call(b: HealthBoard, clock: FakeClock, label: str, seconds: float, ok: bool = True) -> None:
    token = b[label].begin()
    clock.advance(seconds)
    if ok:
        b[label].succeeded(token)
    else:
        b[label].failed(token, "overloaded")
    b.refresh()


async def test_samples_are_per_route_and_bounded_by_age() -> None:
    b, clock, history = world(every_s=5, keep_s=60)
    for _ in range(40):  # 200 s of samples, one every 5 s
        call(b, clock, "pro", 0.5)
        clock.advance(4.5)
        history.sample()
    points = history.points()
    assert set(points) == {"pro", "flash"}
    assert 12 <= len(points["pro"]) <= 13  # the last 60 s only
    latest = points["pro"][-1]
    assert latest.state is HealthState.NORMAL and latest.p50_ms == 500 and latest.success == 1.0
    assert points["flash"][-1].success is None  # no calls: no rate, not 0 %


async def test_a_trip_is_a_transition_in_the_channels_words_and_a_sample() -> None:
    b, clock, history = world()
    history.start()
    told: list[int] = []
    history.listen(lambda: told.append(1))
    try:
        for _ in range(10):
            call(b, clock, "pro", 1.0)
        for _ in range(3):
            call(b, clock, "pro", 0.05, ok=False)
        kinds = [t.kind for t in history.transitions()]
        assert kinds == ["down", "primary_changed"]
        down = history.transitions()[0]
        assert down.text == "🔴 pro is down — overloaded (503). Requests go to flash."
        assert history.points()["pro"][-1].state is HealthState.DOWN
        assert told  # the page is woken at once, not at the next interval
    finally:
        await history.aclose()


async def test_sampling_task_runs_every_interval_and_stops_on_close() -> None:
    b, _clock, history = world(every_s=0.01)
    history.start()
    await asyncio.sleep(0.1)
    await history.aclose()
    taken = len(history.points()["pro"])
    assert taken >= 3
    await asyncio.sleep(0.05)
    assert len(history.points()["pro"]) == taken  # cancelled, not still sampling
    assert b._subscribers == []  # unsubscribed from the board


async def test_document_is_health_only() -> None:
    b, clock, history = world()
    history.start()
    try:
        for _ in range(10):
            call(b, clock, "pro", 1.0)
        for _ in range(3):
            call(b, clock, "pro", 0.05, ok=False)
        now = Wall(clock)()
        doc = status_document(status_view(b, now), history, now)
    finally:
        await history.aclose()
    assert doc["primary"] == "flash" and (doc["online"], doc["total"]) == (1, 2)
    pro = doc["models"][0]
    assert (pro["label"], pro["emoji"], pro["state"]) == ("pro", "🔴", "down")
    assert pro["series"][-1][1] == "down"
    assert doc["transitions"][0]["kind"] == "primary_changed"  # newest first
    assert set(json.loads(json.dumps(doc))) == {
        "at", "primary", "online", "total", "summary", "models", "transitions", "notices"
    }  # fmt: skip
