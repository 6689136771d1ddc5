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


def summarize(
    recs: list[Rec], calls: list[dict[str, Any]], sb: SandboxHandle, duration: float
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


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or math.isinf(x) else round(x, nd)
