"""Failover benchmark: the router against a naive loop and an oracle, under scripted faults.

    .venv/bin/python bench/router_bench.py                    # the full run (~11 min on 2 cores)
    .venv/bin/python bench/router_bench.py --quick            # a smoke run of S1–S5 (~2½ min)
    .venv/bin/python bench/router_bench.py --scenarios R      # the recovery scenarios R1–R5
    .venv/bin/python bench/router_bench.py --scenarios S1,S3 --rate 25 --duration 20

Open-loop load (arrivals on a fixed schedule, whatever the answers do) goes
through the real provider adapters (google-genai, openai) over HTTP to the
sandbox (``python -m adapters.sandbox`` in a child process, so the fake vendor
does not share an event loop with the router it is judging). Every scenario is
run once per strategy with a fresh sandbox state and fresh providers/router:

- router: ``bot.router.Router`` with its default policies;
- naive:  try each model in chain order, next on any error, no breaker, no hedge;
- oracle: knows the fault schedule and sends each request to the first model that
          is not down / slowed / hung / rate-limited right now.

S1–S5 are failover scenarios (``--duration``); R1–R5 are recovery scenarios with
a fixed timeline (a fault that ends, then a healthy stretch). Writes ``<out>.md``,
``<out>.json``, ``<out>.png``, ``<out>_timeline.png`` and ``<out>_recovery.png``
(default ``bench/results/router_bench``). See bench/README.md for the scenarios
and what the numbers mean. This file is the entry point (options and ``main``);
the parts live in the ``routerbench`` package next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

# The package sits next to this file; run as a script, from any directory, or with -m.
_BENCH_DIR = str(Path(__file__).resolve().parent)
if _BENCH_DIR not in sys.path:
    sys.path.insert(0, _BENCH_DIR)

from routerbench.cli import main_async, rerender  # noqa: E402
from routerbench.config import ROOT, STRATEGIES  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--rate", type=float, default=25.0, help="arrivals per second (default 25)")
    p.add_argument(
        "--duration", type=float, default=20.0, help="S1–S5: seconds of arrivals (default 20)"
    )
    p.add_argument(
        "--scenarios",
        default=None,
        help="names and groups: S (S1–S5), R (R1–R5, recovery), all (default all; with --quick: S)",
    )
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--cap", type=float, default=10.0, help="bench cap on one request, seconds")
    p.add_argument("--overhead", type=int, default=5000, help="overhead requests (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sandbox", choices=("child", "inprocess"), default="child")
    p.add_argument("--out", default=None, help="output path without suffix")
    p.add_argument("--quick", action="store_true", help="smoke run: 15/s, S1–S5 for 8 s, cap 10 s")
    p.add_argument("-v", "--verbose", action="store_true", help="per-second router timelines")
    p.add_argument("--from-json", type=Path, help="only re-render the outputs of a saved run")
    args = p.parse_args(argv)
    if args.quick:
        args.rate, args.duration, args.cap = 15.0, 8.0, 10.0
        args.overhead = min(args.overhead, 1000)
    if args.scenarios is None:
        args.scenarios = "S" if args.quick else "all"
    if args.out is None:
        name = "router_bench_quick" if args.quick else "router_bench"
        args.out = str(ROOT / "bench" / "results" / name)
    bad = [s for s in args.strategies.split(",") if s.strip() not in STRATEGIES]
    if bad or args.rate <= 0 or args.duration <= 0 or args.cap <= 0:
        p.error("bad --strategies / --rate / --duration / --cap")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json is not None:
        return rerender(args.from_json)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
