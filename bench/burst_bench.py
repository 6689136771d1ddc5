"""Burst and sustained load on the Slack ``/imagine`` ack path.

    .venv/bin/python bench/burst_bench.py                          # this checkout
    .venv/bin/python bench/burst_bench.py --bot base=/tmp/wt-base --bot new=.   # side by side
    .venv/bin/python bench/burst_bench.py --reps 1 --no-ladder --profile /tmp/burst

The whole bot (``imagine-bot run``, Slack HTTP mode) runs in a child process from
each checkout named with ``--bot``; the fake Slack (tests/platforms) runs here and
sends signed slash commands; the sandbox (instant models) is another child. For
each checkout, ``--reps`` times on a fresh bot and database: a burst of ``--burst``
``/imagine`` at once (ack p50/p99, share whose first answer said "Queued", images
delivered a second); then a steady ladder (``--rates``, ``--step-s`` each, the queue
drained between steps) up to the first step whose ack p99 passes 1 s. See
bench/README.md ("Burst benchmark").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
for _p in (str(_BENCH_DIR), str(_BENCH_DIR.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from burstbench.report import markdown  # noqa: E402
from burstbench.run import run_all  # noqa: E402

DEFAULT_RATES = "20,40,60,80,100,120,160,200,250,300,400"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--bot",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a checkout to run the bot from (repeatable; default: this one)",
    )
    p.add_argument("--burst", type=int, default=200, help="requests at once (default 200)")
    p.add_argument("--reps", type=int, default=3, help="runs of each (default 3; medians)")
    p.add_argument("--rates", default=DEFAULT_RATES, help="the steady ladder, requests/s")
    p.add_argument("--step-s", type=float, default=3.0, help="seconds per ladder step")
    p.add_argument("--no-ladder", action="store_true", help="bursts only")
    p.add_argument("--profile", type=Path, help="cProfile each bot to PREFIX.<name>.<run>.prof")
    p.add_argument("--out", type=Path, default=_BENCH_DIR / "results" / "burst_bench")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bots = dict(b.split("=", 1) for b in args.bot) or {"this": str(_BENCH_DIR.parent)}
    rates = [] if args.no_ladder else [float(r) for r in args.rates.split(",")]
    result = asyncio.run(
        run_all(
            {k: Path(v).resolve() for k, v in bots.items()},
            size=args.burst,
            reps=args.reps,
            rates=rates,
            step_s=args.step_s,
            profile=args.profile,
        )
    )
    text = markdown(result, burst=args.burst, step_s=args.step_s)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text, "utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(result.as_json(), indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
