"""The matplotlib charts: grouped bars per scenario, the S3/S5 timeline, the recovery timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import PRIMARY, STRATEGIES
from .scenarios import Scenario

COLORS = {"router": "#2b6cb0", "naive": "#c05621", "oracle": "#718096"}


def render_chart(results: dict[str, dict[str, Any]], path: Path, meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(3, 2, figsize=(max(12, 1.6 * len(names)), 11))
    panels = [
        ("p95", "p95 latency (s); ∞ = over 5 % got no image", 1.0, "{:.2f}"),
        ("delivered", "delivered %", 100.0, "{:.0f}"),
        ("primary_share", "share served by the primary %", 100.0, "{:.0f}"),
        ("down_calls_per_request", "calls sent to a down model, per request", 1.0, "{:.3f}"),
        ("spent_per_image", "$ per image, all attempts", 1.0, "{:.3f}"),
        ("after_share", "primary share after the fault ends %", 100.0, "{:.0f}"),
    ]
    width = 0.27
    for by in results.values():
        for r in by.values():
            r["after_share"] = (r.get("recovery") or {}).get("share")
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
                if r[key] is None and key != "p95":
                    continue  # no such figure (e.g. no fault that ends)
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
            ax.bar_label(bars, labels, fontsize=7 if len(names) <= 6 else 5.5, padding=1)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(title, fontsize=10)
        percent = key in ("delivered", "primary_share", "after_share")
        ax.set_ylim(0, 112 if percent else top * 1.12)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        f"imagine-bot router failover and recovery — {meta['rate']:g} req/s open loop "
        f"(S1–S5 {meta['duration']:g} s, R1–R5 fixed timelines), {meta['cores']} cores, "
        f"{meta['date'][:10]}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    for by in results.values():
        for r in by.values():
            del r["after_share"]


def render_timeline(
    results: dict[str, dict[str, Any]], path: Path, scen: dict[str, Scenario]
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
        duration = scen[name].duration
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


def render_recovery(
    results: dict[str, dict[str, Any]], path: Path, scen: dict[str, Scenario]
) -> bool:
    """Primary share per arrival second, router vs oracle, in the scenarios whose fault ends."""
    shown = [
        n
        for n in results
        if scen[n].healthy_from is not None and n.startswith("R") and "router" in results[n]
    ]
    if not shown:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(shown))
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(shown) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, shown, strict=False):
        sc = scen[name]
        for model in sc.faults:  # the primary's windows red, another model's orange
            color = "#c53030" if model == PRIMARY else "#dd6b20"
            for start, end in sc.windows(model):
                ax.axvspan(start, end, color=color, alpha=0.12)
        for strat in ("oracle", "router"):
            r = results[name].get(strat)
            if r is None:
                continue
            ts, share = [], []
            for s in r["per_second"]:
                images = sum(s["served"].values())
                ts.append(s["t"] + 0.5)
                share.append(100 * s["served"].get("pro", 0) / images if images else 0.0)
            wide = strat == "oracle"  # drawn first and wide: the router shows on top of it
            ax.step(
                ts,
                share,
                where="mid",
                color=COLORS[strat],
                lw=4 if wide else 1.5,
                alpha=0.45 if wide else 1.0,
                label=strat,
            )
        assert sc.healthy_from is not None
        ax.axvline(sc.healthy_from, color="#2f855a", lw=1)
        rr = results[name]["router"].get("recovery") or {}
        back = rr.get("back_s")
        note = "router ≥ 90 %: not within the run" if back is None else f"router ≥ 90 %: +{back}s"
        if back is not None:
            ax.axvline(sc.healthy_from + back, color=COLORS["router"], lw=1, ls="--")
        right = sc.healthy_from > 0.6 * sc.duration
        ax.text(
            sc.healthy_from,
            35,
            f" healthy from {sc.healthy_from:g} s \n {note} ",
            fontsize=7,
            ha="right" if right else "left",
        )
        ax.set_ylim(-3, 105)
        ax.set_xlim(0, sc.duration)
        ax.set_title(f"{name}: {sc.title}", fontsize=9)
        ax.set_xlabel("arrival second (shaded: fault windows)")
        ax.set_ylabel("images by the primary %")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
