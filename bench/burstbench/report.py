"""The markdown summary: medians over the repetitions, then every run."""

from __future__ import annotations

import os
import platform
import statistics
import time

from .run import P99_LIMIT_S, Result, Step, median_of


def _burst_row(name: str, steps: list[Step]) -> str:
    def m(attr: str) -> float:
        return median_of(steps, attr)

    return (
        f"| {name} | {len(steps)} | {m('p50'):.3f} | {m('p99'):.3f} | {m('worst'):.3f}"
        f" | {m('queued'):.0%} | {m('delivered_per_s'):.1f} |"
    )


def markdown(result: Result, *, burst: int, step_s: float) -> str:
    load = os.getloadavg()
    lines = [
        f"# Burst benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {platform.node()},"
        f" {os.cpu_count()} cores, load at the end {load[0]:.2f} / {load[1]:.2f})",
        "",
        f"## {burst} `/imagine` at once (medians of the runs)",
        "",
        '| bot | runs | ack p50 s | ack p99 s | max s | first answer "Queued" | delivered /s |',
        "|---|---|---|---|---|---|---|",
        *(_burst_row(name, steps) for name, steps in result.bursts.items()),
        "",
        "Every run: "
        + "; ".join(
            f"{name} " + ", ".join(f"{s.p50:.2f}/{s.p99:.2f}" for s in steps)
            for name, steps in result.bursts.items()
        )
        + " (p50/p99 s).",
    ]
    if result.ladders:
        lines += [
            "",
            f"## Steady rate ({step_s:g} s a step) — the highest with ack p99 ≤ {P99_LIMIT_S:g} s",
            "",
            "| bot | sustained /imagine/s (median) | each run | delivered /s at that step |",
            "|---|---|---|---|",
        ]
        for name, ladders in result.ladders.items():
            got = result.sustained(name)
            delivered = [
                max((s.delivered_per_s for s in lad if s.p99 <= P99_LIMIT_S), default=0.0)
                for lad in ladders
            ]
            lines.append(
                f"| {name} | {statistics.median(got):.0f} | {', '.join(f'{g:.0f}' for g in got)}"
                f" | {statistics.median(delivered):.1f} |"
            )
        lines += ["", "| bot | run | rate /s | ack p50 s | p99 s | queued | delivered /s |"]
        lines.append("|---|---|---|---|---|---|---|")
        for name, ladders in result.ladders.items():
            for i, lad in enumerate(ladders, 1):
                for s in lad:
                    lines.append(
                        f"| {name} | {i} | {s.rate:.0f} | {s.p50:.3f} | {s.p99:.3f}"
                        f" | {s.queued:.0%} | {s.delivered_per_s:.1f} |"
                    )
    return "\n".join(lines) + "\n"
