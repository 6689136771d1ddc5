"""Percentiles and the summary of one run (what the table, the JSON and the charts show)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .config import DOWN_KINDS, PRIMARY, SHORT
from .sandbox import SandboxHandle, hard_fault


@dataclass
class Rec:
    i: int
    due: float  # seconds since the run started
    latency: float  # from the scheduled arrival
    ok: bool
    model: str | None = None
    cost: float = 0.0
    spent: float = 0.0
    attempts: int = 0
    hedged: bool = False
    error: str | None = None
    lag: float = 0.0  # how late the generator launched it


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


RECOVERY_WINDOW_S = 2.0  # the sliding window of arrivals for "the primary serves ≥ 90 %"
RECOVERY_STEP_S = 0.1  # where the windows start: the end of the fault, then every 0.1 s
RECOVERY_SHARE = 0.9


def summarize(
    recs: list[Rec],
    calls: list[dict[str, Any]],
    sb: SandboxHandle,
    duration: float,
    healthy_from: float | None = None,
) -> dict[str, Any]:
    ok = [r for r in recs if r.ok]
    lat = [r.latency for r in ok]
    # Percentiles over all requests; one that got no image counts as never answered (None: ∞).
    waits = [r.latency if r.ok else math.inf for r in recs]
    n = len(recs)
    down_calls = Counter(
        c["model"]
        for c in calls
        if c["model"] and hard_fault(sb, c["model"], c["started"], DOWN_KINDS)
    )
    served = Counter(r.model for r in ok)
    per_second = []
    for sec in range(math.ceil(duration)):
        bucket = [r for r in recs if sec <= r.due < sec + 1]
        good = [r for r in bucket if r.ok]
        per_second.append(
            {
                "t": sec,
                "n": len(bucket),
                "failed": len(bucket) - len(good),
                "served": {SHORT[m]: c for m, c in Counter(r.model for r in good).items() if m},
                "p50": _r(pct([r.latency for r in good], 0.5)),
                "max": _r(max((r.latency for r in good), default=None)),
                "hedged": sum(r.hedged for r in bucket),
            }
        )
    return {
        "requests": n,
        "delivered": len(ok) / n,
        "p50": _r(pct(waits, 0.50)),
        "p95": _r(pct(waits, 0.95)),
        "p99": _r(pct(waits, 0.99)),
        "p95_delivered": _r(pct(lat, 0.95)),
        "max_delivered": _r(max(lat, default=None)),
        "primary_share": served[PRIMARY] / len(ok) if ok else 0.0,
        "served": {SHORT[m]: c for m, c in served.items() if m},
        "errors": dict(Counter(r.error for r in recs if not r.ok)),
        "calls": dict(Counter(SHORT.get(c["model"], c["model"]) for c in calls)),
        "calls_per_request": len(calls) / n,
        "down_calls": {SHORT.get(m, m): c for m, c in down_calls.items()},
        "down_calls_per_request": sum(down_calls.values()) / n,
        "cost_per_image": sum(r.cost for r in ok) / len(ok) if ok else None,
        "spent_per_image": sum(r.spent for r in recs) / len(ok) if ok else None,
        "hedged_share": sum(r.hedged for r in recs) / n,
        "recovery": recovery(recs, healthy_from, duration),
        "launch_lag_p99_ms": _r(1000 * (pct([r.lag for r in recs], 0.99) or 0.0), 1),
        "per_second": per_second,
        # one row per request: [arrival s, latency s or None, served model, hedged]
        "requests_log": [
            [
                round(r.due, 3),
                _r(r.latency) if r.ok else None,
                SHORT.get(r.model or "", None),
                r.hedged,
            ]
            for r in recs
        ],
    }


def recovery(recs: list[Rec], at: float | None, duration: float) -> dict[str, Any] | None:
    """How the strategy came back to the primary once its fault was over (at ``at`` s).

    Every figure is over requests *launched* (scheduled) at or after ``at``:

    - ``share``: primary images / images;
    - ``first_s``: launch time of the first such request whose image the primary
      made, minus ``at`` (None: none did);
    - ``back_s``: the primary serves ≥ 90 % of images from here on. Windows of
      ``RECOVERY_WINDOW_S`` of launches start at ``at``, ``at`` + 0.1 s, … up to the
      last that fits in the run; ``back_s`` is the start of the earliest window
      from which every later window has ≥ 90 % of its images from the primary,
      minus ``at``. None: the last window is below 90 % ("not within the run").
      A window with no image counts as below;
    - ``p95``: latency p95 of those requests (∞ for no image, as everywhere).
    """
    if at is None:
        return None
    after = [r for r in recs if r.due >= at - 1e-9]
    images = [r for r in after if r.ok]
    firsts = [r.due for r in images if r.model == PRIMARY]
    starts: list[float] = []
    k = 0
    while (s := at + k * RECOVERY_STEP_S) + RECOVERY_WINDOW_S <= duration + 1e-9:
        starts.append(s)
        k += 1
    back: float | None = None
    for s in reversed(starts):  # from the last window back: the earliest of an unbroken run
        window = [r for r in images if s - 1e-9 <= r.due < s + RECOVERY_WINDOW_S - 1e-9]
        served = sum(r.model == PRIMARY for r in window)
        if not window or served < RECOVERY_SHARE * len(window):
            break
        back = s - at
    return {
        "at": at,
        "requests": len(after),
        "share": sum(r.model == PRIMARY for r in images) / len(images) if images else 0.0,
        "first_s": _r(max(0.0, min(firsts) - at)) if firsts else None,
        "back_s": _r(back),
        "measurable_s": _r(starts[-1] - at) if starts else None,
        "p95": _r(pct([r.latency if r.ok else math.inf for r in after], 0.95)),
    }


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or math.isinf(x) else round(x, nd)
