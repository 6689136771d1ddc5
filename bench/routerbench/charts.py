"""The matplotlib charts: grouped bars per scenario, and the S3/S5 timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import STRATEGIES
from .scenarios import Scenario

COLORS = {"router": "#2b6cb0", "naive": "#c05621", "oracle": "#718096"}


def render_chart(results: dict[str, dict[str, Any]], path: Path, meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    panels = [
        ("p95", "p95 latency (s); ∞ = over 5 % got no image", 1.0, "{:.2f}"),
        ("delivered", "delivered %", 100.0, "{:.0f}"),
        ("primary_share", "share served by the primary %", 100.0, "{:.0f}"),
        ("down_calls_per_request", "calls sent to a down model, per request", 1.0, "{:.3f}"),
    ]
    width = 0.27
    for ax, (key, title, scale, fmt) in zip(axes.flat, panels, strict=True):
        finite = [
            r[key] * scale for by in results.values() for r in by.values() if r[key] is not None
        ]
        top = max(finite, default=1.0) * 1.2 or 1.0
        for k, strat in enumerate(STRATEGIES):
            xs, ys, labels, lost = [], [], [], []
            for i, name in enumerate(names):
                r = results[name].get(strat)
                if r is None:
                    continue
                xs.append(i + (k - 1) * width)
                if r[key] is None:  # a latency percentile that no image answered
                    ys.append(top)
                    labels.append("∞")
                    lost.append(True)
                else:
                    y = r[key] * scale
                    ys.append(y)
                    labels.append("0" if y == 0 else fmt.format(y))
                    lost.append(False)
            if not xs:
                continue
            bars = ax.bar(xs, ys, width, label=strat, color=COLORS[strat])
            for bar, is_lost in zip(bars, lost, strict=True):
                if is_lost:
                    bar.set_hatch("//")
                    bar.set_alpha(0.5)
            ax.bar_label(bars, labels, fontsize=7, padding=1)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(title, fontsize=10)
        percent = key in ("delivered", "primary_share")
        ax.set_ylim(0, 112 if percent else top * 1.12)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        f"imagine-bot router failover — {meta['rate']:g} req/s × {meta['duration']:g} s open loop, "
        f"{meta['cores']} cores, {meta['date'][:10]}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render_timeline(
    results: dict[str, dict[str, Any]], path: Path, scen: dict[str, Scenario], duration: float
) -> bool:
    """Per-second worst latency of router vs oracle in the slow/hang scenarios."""
    shown = [n for n in ("S3", "S5") if n in results and "router" in results[n]]
    if not shown:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(shown), figsize=(6 * len(shown), 3.6), squeeze=False)
    for ax, name in zip(axes[0], shown, strict=True):
        for strat in ("router", "oracle"):
            r = results[name].get(strat)
            if r is None:
                continue
            ts = [s["t"] + 0.5 for s in r["per_second"]]
            ax.step(
                ts,
                [s["max"] or 0 for s in r["per_second"]],
                where="mid",
                color=COLORS[strat],
                label=f"{strat}: slowest in second",
            )
            ax.plot(
                ts,
                [s["p50"] or 0 for s in r["per_second"]],
                ":",
                color=COLORS[strat],
                label=f"{strat}: median",
            )
        ax.axvline(duration / 2, color="#c53030", lw=1)
        ax.text(
            duration / 2,
            ax.get_ylim()[1] * 0.95,
            " fault starts",
            color="#c53030",
            fontsize=8,
            va="top",
        )
        seen = [
            s["t"]
            for s in results[name]["router"].get("router_samples", [])
            if s.get("pro_stalled") and s["t"] >= duration / 2
        ]
        if seen:  # the first 0.1 s sample in which the router's health board saw the stall
            ax.axvline(seen[0], color="#2b6cb0", lw=1, ls="--")
            ax.text(
                seen[0],
                ax.get_ylim()[1] * 0.8,
                " router sees pro stalled",
                fontsize=8,
                color="#2b6cb0",
                va="top",
            )
        ax.set_title(f"{name}: {scen[name].title}", fontsize=10)
        ax.set_xlabel("arrival second")
        ax.set_ylabel("latency s")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
