"""Jobs/s and queue wait with 1, 2 and 3 bot processes on one machine (issue 14).

    .venv/bin/python bench/scale_bench.py                       # 1, 2, 3 processes
    .venv/bin/python bench/scale_bench.py --procs 1,2 --window 8 --rate 6

Each process is the whole bot (``imagine-bot run``, Slack HTTP mode, its own port)
from this checkout; all share one fresh PostgreSQL schema and one Redis database,
as several instances behind a load balancer would. The bench is the load balancer:
signed ``/imagine`` round-robin over the processes (and over ``--workspaces``
teams), open loop at ``--rate`` for ``--window`` s, faster than the processes can
serve; then the queue drains. The sandbox answers every image in ``--latency``
s. Queue waits and throughput come from the jobs table; each image's upload is
counted in the fake Slack; the ledger is checked. See bench/README.md ("Scale
benchmark").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
for _p in (str(_BENCH_DIR), str(_BENCH_DIR.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from scalebench.report import markdown  # noqa: E402
from scalebench.run import run_all  # noqa: E402
from scalebench.world import Settings  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--procs", default="1,2,3", help="process counts, one run each (default 1,2,3)")
    p.add_argument("--workers", type=int, default=4, help="IMAGINE_WORKERS each (default 4)")
    p.add_argument("--guild-cap", type=int, default=4, help="IMAGINE_GUILD_CONCURRENCY (4)")
    p.add_argument("--latency", type=float, default=1.5, help="sandbox s an image (1.5)")
    p.add_argument("--jitter", type=float, default=0.3, help="± uniform s (0.3)")
    p.add_argument(
        "--rate",
        type=float,
        help="/imagine a second (default 1.25 × the largest count's ideal capacity)",
    )
    p.add_argument("--window", type=float, default=12.0, help="seconds of arrivals (12)")
    p.add_argument("--workspaces", type=int, default=20, help="team_ids, round-robin (20)")
    p.add_argument(
        "--redis", default="redis://127.0.0.1:6379/0", help="the server (an empty db is used)"
    )
    p.add_argument("--log-level", default="WARNING", help="the bots' IMAGINE_LOG_LEVEL")
    p.add_argument("--out", type=Path, default=_BENCH_DIR / "results" / "scale_bench")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(n) for n in args.procs.split(",")]
    s = Settings(args.workers, args.guild_cap, args.latency, args.jitter, args.log_level)
    rate = args.rate or round(1.25 * max(counts) * s.workers / s.latency_s, 1)
    load_before = os.getloadavg()
    results = asyncio.run(
        run_all(
            counts,
            _BENCH_DIR.parent,
            s,
            rate=rate,
            window=args.window,
            workspaces=args.workspaces,
            redis=args.redis,
        )
    )
    command = "bench/scale_bench.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    if pg := os.environ.get("IMAGINE_TEST_POSTGRES_URL"):
        command = f"IMAGINE_TEST_POSTGRES_URL={pg} {command}"
    text = markdown(
        results,
        s,
        rate=rate,
        window=args.window,
        workspaces=args.workspaces,
        command=command.strip(),
        load_before=load_before,
    )
    print(text)
    data = {
        "settings": asdict(s),
        "rate": rate,
        "window": args.window,
        "workspaces": args.workspaces,
        "command": command.strip(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "runs": [{**asdict(f), "ledger_ok": f.ledger_ok} for f in results],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text, "utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
