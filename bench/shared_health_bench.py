"""Calls to a down model, per request, with N bot "processes": each on its own
health (baseline), sharing trips through the real Redis (``IMAGINE_REDIS_URL``'s
path: ``SharedHealth`` over ``RedisHealthBus``), and an oracle that knows the
outage the moment it starts and ends.

    .venv/bin/python bench/shared_health_bench.py [--procs 3] [--rate 20] [--redis URL]

Each process is a real ``Router`` (breakers, health board, the walk) over a
scripted provider; requests go round-robin to the processes at ``--rate`` per
second. The primary is healthy for ``--before`` s, fails every call ("503
overloaded") for ``--outage`` s, then is healthy again — a fault that **ends**:
the run also measures how long after the end each process takes the primary
back (its breaker's probe, or another process's recovery through Redis).
Not part of ``make test``; Redis must answer at ``--redis``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.shared import RedisHealthBus, RedisLink
from adapters.shared.claims import RedisClaims
from bot.breaker import BreakerPolicy
from bot.domain import GenerationRequest
from bot.errors import ProviderOverloaded
from bot.shared_health import SharedHealth
from tests.bot.fakes import ScriptedProvider, make_router

PRO = "gemini-3-pro-image"
REQ = GenerationRequest(prompt="a lighthouse at dusk")


async def run(mode: str, args: argparse.Namespace) -> dict[str, float]:
    prefix = f"bench:{uuid.uuid4().hex}:"
    async with AsyncExitStack() as stack:
        procs = []
        for _ in range(args.procs):
            provider = ScriptedProvider()
            link = RedisLink(args.redis, prefix=prefix, timeout_s=0.5)
            stack.push_async_callback(link.aclose)
            probes = RedisClaims(link) if mode == "shared" else None  # one probe an interval
            policy = BreakerPolicy(open_s=args.open_s)
            router = make_router(provider, breaker=policy, probes=probes)
            if mode == "shared":
                shared = SharedHealth(router.board, RedisHealthBus(link, retry_s=0.5))
                await stack.enter_async_context(shared)
            procs.append((router, provider))
        await asyncio.sleep(0.3)  # subscriptions settle
        start = time.monotonic()
        down_from, down_to = args.before, args.before + args.outage
        end = down_to + args.after
        n, outage_requests = 0, 0
        back_at: dict[int, float] = {}
        marks: dict[str, int] = {}  # calls to the primary when the outage began / ended

        def calls() -> int:
            return sum(p.count(PRO) for _, p in procs)

        while (now := time.monotonic() - start) < end:
            down = down_from <= now < down_to
            if down and "from" not in marks:
                marks["from"] = calls()
            if now >= down_to and "to" not in marks:
                marks["to"] = calls()
            for _, provider in procs:
                if down:
                    provider.then[PRO] = ProviderOverloaded(model=PRO)
                else:
                    provider.then.pop(PRO, None)
            i = n % len(procs)
            router, provider = procs[i]
            if mode == "oracle" and down:
                pass  # the oracle sends nothing to a model it knows is down
            else:
                result = await router.generate(REQ)
                if now >= down_to and result.model == PRO and i not in back_at:
                    back_at[i] = now - down_to
            outage_requests += int(down)
            n += 1
            await asyncio.sleep(max(0.0, start + n / args.rate - time.monotonic()))
    wasted = marks.get("to", 0) - marks.get("from", 0)
    backs = [back_at.get(i, float("inf")) for i in range(args.procs)]
    return {
        "requests in the outage": outage_requests,
        "calls to the down primary": wasted,
        "per outage request": wasted / max(1, outage_requests),
        "all back after (s)": max(backs),
        "median back after (s)": statistics.median(backs),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--procs", type=int, default=3)
    p.add_argument("--rate", type=float, default=20.0, help="requests per second, all processes")
    p.add_argument("--before", type=float, default=2.0)
    p.add_argument("--outage", type=float, default=8.0)
    p.add_argument("--after", type=float, default=14.0)
    p.add_argument("--open-s", type=float, default=4.0, help="the breakers' first open period")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = p.parse_args()
    rows = {mode: asyncio.run(run(mode, args)) for mode in ("per-process", "shared", "oracle")}
    keys = list(next(iter(rows.values())))
    window = f"{args.before:g}–{args.before + args.outage:g} s"
    print(f"\n{args.procs} processes, {args.rate:g} requests/s, primary down {window},")
    print(f"breakers' first open period {args.open_s:g} s")
    print("| | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for mode, row in rows.items():
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
