"""The runs: bursts and a rising steady rate, on a fresh bot each, for each checkout."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.platforms.slack_fake import FakeSlack

from .load import Ack, Firing, clock
from .world import Bot, open_sandbox

P99_LIMIT_S = 1.0  # the sustained rate is the highest step whose ack p99 stays under this


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Step:
    """One burst, or one step of the steady ladder."""

    rate: float  # requests a second (a burst: its size)
    n: int
    p50: float
    p99: float
    worst: float
    queued: float  # share of first answers that said "Queued"
    errors: int  # answers other than 200
    delivered_per_s: float  # images delivered / (last delivery − first request)

    @classmethod
    def of(cls, rate: float, acks: list[Ack], start: float, done: float) -> Step:
        lat = [a.latency for a in acks]
        return cls(
            rate,
            len(acks),
            pct(lat, 50),
            pct(lat, 99),
            max(lat),
            sum(a.queued for a in acks) / len(acks),
            sum(a.status != 200 for a in acks),
            len(acks) / (done - start),
        )


@dataclass
class Result:
    bursts: dict[str, list[Step]] = field(default_factory=dict)
    ladders: dict[str, list[list[Step]]] = field(default_factory=dict)

    def sustained(self, name: str) -> list[float]:
        """Per ladder: the highest rate whose ack p99 stayed ≤ the limit."""
        return [
            max((s.rate for s in ladder if s.p99 <= P99_LIMIT_S), default=0.0)
            for ladder in self.ladders.get(name, [])
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "bursts": {k: [asdict(s) for s in v] for k, v in self.bursts.items()},
            "ladders": {k: [[asdict(s) for s in la] for la in v] for k, v in self.ladders.items()},
            "sustained": {k: self.sustained(k) for k in self.ladders},
        }


async def warm_up(firing: Firing) -> None:
    """One ``/imagine`` all the way, not counted: bolt's first request asks Slack who
    the bot is (``auth.test``), and a burst on a cold bot would make 200 of those."""
    before = firing.delivered()
    await firing.fire(clock())
    await firing.drained(before + 1)


async def burst(firing: Firing, n: int) -> Step:
    before, start = firing.delivered(), clock()
    acks = await firing.burst(n)
    done = await firing.drained(before + n)
    return Step.of(n, acks, start, done)


async def ladder(firing: Firing, rates: Sequence[float], seconds: float) -> list[Step]:
    """Steps up the rate, the queue drained between steps, until ack p99 passes the limit."""
    steps = []
    for rate in rates:
        before, start = firing.delivered(), clock()
        acks = await firing.steady(rate, seconds)
        done = await firing.drained(before + len(acks))
        steps.append(Step.of(rate, acks, start, done))
        print(f"    {rate:5.0f}/s  {_line(steps[-1])}", flush=True)
        if steps[-1].p99 > P99_LIMIT_S:
            break
    return steps


def _line(s: Step) -> str:
    return (
        f"ack p50 {s.p50:.3f} s  p99 {s.p99:.3f} s  max {s.worst:.3f} s  "
        f"queued {s.queued:.0%}  errors {s.errors}  delivered {s.delivered_per_s:.1f}/s"
    )


async def run_all(
    bots: dict[str, Path],
    *,
    size: int,
    reps: int,
    rates: Sequence[float],
    step_s: float,
    profile: Path | None,
) -> Result:
    result = Result()
    sandbox = await open_sandbox()
    try:
        async with FakeSlack() as slack:
            for what in ("burst", "ladder"):
                if what == "ladder" and not rates:
                    continue
                for rep in range(reps):
                    for name, root in bots.items():
                        prof = profile.with_suffix(f".{name}.{what}.prof") if profile else None
                        bot = await Bot(root, slack, sandbox, prof).start()
                        firing = Firing(slack, bot.url)
                        try:
                            await warm_up(firing)
                            print(f"{what} {rep + 1}/{reps} {name}", flush=True)
                            if what == "burst":
                                step = await burst(firing, size)
                                result.bursts.setdefault(name, []).append(step)
                                print(f"    {size} at once  {_line(step)}", flush=True)
                            else:
                                steps = await ladder(firing, rates, step_s)
                                result.ladders.setdefault(name, []).append(steps)
                        finally:
                            await firing.aclose()
                            await bot.stop()
    finally:
        await sandbox.stop()
    return result


def median_of(steps: list[Step], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in steps)
