"""The whole run (overhead, then every scenario × strategy), the output files, re-rendering."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .charts import render_chart, render_recovery, render_timeline
from .config import ERROR_S, IMAGE_PX, LATENCY, RETRY_AFTER_S, ROOT, clock
from .harness import run_one
from .overhead import measure_overhead
from .report import evaluate, fmt_lat, fmt_s, print_timeline, render_markdown
from .sandbox import ChildSandbox, InProcessSandbox
from .scenarios import GROUPS, Scenario, scenarios, select


async def main_async(args: argparse.Namespace) -> int:
    began = clock()
    scen = scenarios(args.duration)
    wanted, unknown = select(args.scenarios, scen)
    if unknown or not wanted:
        print(
            f"unknown scenarios {unknown}; known: {list(scen)} and the groups {', '.join(GROUPS)}",
            file=sys.stderr,
        )
        return 2
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]

    overhead: dict[str, Any] = {}
    if args.overhead:
        overhead = {
            "plain": await measure_overhead(args.overhead, 0.0),
            "failover": await measure_overhead(args.overhead, 0.45),
        }
        print(f"router overhead: {overhead}", flush=True)

    sandbox_cls = ChildSandbox if args.sandbox == "child" else InProcessSandbox
    sb = await sandbox_cls(args.seed, IMAGE_PX).start()
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in wanted:
            results[name] = {}
            for strat in strategies:
                r = await run_one(sb, scen[name], strat, args)
                results[name][strat] = r
                print(
                    f"{name} {strat:6s} delivered {100 * r['delivered']:5.1f} %  "
                    f"p50 {fmt_lat(r['p50'])}  p95 {fmt_lat(r['p95'])}  "
                    f"primary {100 * r['primary_share']:3.0f} %  "
                    f"down-calls/req {r['down_calls_per_request']:.3f} {r['down_calls']}  "
                    f"served {r['served']}  errors {r['errors']}  "
                    f"hedged {100 * r['hedged_share']:.1f} %  "
                    f"$/image all attempts {r['spent_per_image'] or 0:.4f}  wall {r['wall_s']} s",
                    flush=True,
                )
                if rr := r.get("recovery"):
                    print(
                        f"   after the fault (t ≥ {rr['at']:g} s): primary "
                        f"{100 * rr['share']:.1f} %, first primary image {fmt_s(rr['first_s'])}, "
                        f"≥ 90 % from {fmt_s(rr['back_s'])}, p95 {fmt_lat(rr['p95'])}",
                        flush=True,
                    )
                if args.verbose and strat == "router":
                    print_timeline(name, strat, r)
    finally:
        await sb.stop()

    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "rate": args.rate,
        "duration": args.duration,
        "requests": max(1, round(args.rate * args.duration)),  # per S run
        "scenario_list": wanted,
        "cap": args.cap,
        "seed": args.seed,
        "commit": core_commit(),
        "sandbox": "child process" if args.sandbox == "child" else "in process",
        "image_px": IMAGE_PX,
        "latency": {m: {"seconds": s, "jitter": j} for m, (s, j) in LATENCY.items()},
        "error_latency_s": ERROR_S,
        "retry_after_s": RETRY_AFTER_S,
        "wall_s": clock() - began,
    }
    write_outputs(Path(args.out), results, overhead, meta, scen)
    return 0


def write_outputs(
    out: Path,
    results: dict[str, dict[str, Any]],
    overhead: dict[str, Any],
    meta: dict[str, Any],
    scen: dict[str, Scenario],
) -> None:
    targets = evaluate(results, overhead, scen)
    md = render_markdown(results, overhead, targets, meta, scen)
    print()
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(md, "utf-8")
    payload = {
        "meta": meta,
        "scenarios": {
            n: {
                "title": scen[n].title,
                "kind": scen[n].kind,
                "duration": scen[n].duration,
                "healthy_from": scen[n].healthy_from,
            }
            for n in results
        },
        "faults": {
            n: {m: [f.as_dict() for f in fs] for m, fs in scen[n].faults.items()} for n in results
        },
        "results": results,
        "overhead": overhead,
        "targets": [asdict(t) for t in targets],
    }
    out.with_suffix(".json").write_text(json.dumps(payload, separators=(",", ":")), "utf-8")
    render_chart(results, out.with_suffix(".png"), meta)
    timeline = out.with_name(out.name + "_timeline.png")
    if render_timeline(results, timeline, scen):
        print(f"wrote {timeline}")
    recovery = out.with_name(out.name + "_recovery.png")
    if render_recovery(results, recovery, scen):
        print(f"wrote {recovery}")
    print(f"wrote {out.with_suffix('.md')}, .json, .png")


def rerender(path: Path) -> int:
    """Rebuild the table and charts from a saved JSON (no load is run)."""
    payload = json.loads(path.read_text("utf-8"))
    meta = payload["meta"]
    out = path.with_suffix("")
    write_outputs(out, payload["results"], payload["overhead"], meta, scenarios(meta["duration"]))
    return 0


def core_commit() -> str:
    """The commit the measured core comes from, marked if bot/ or adapters/ had local edits."""
    import subprocess

    def git(*cmd: str) -> str:
        try:
            done = subprocess.run(
                ["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "bot", "adapters")
    return f"{head} + uncommitted changes in bot/ or adapters/" if dirty else head
