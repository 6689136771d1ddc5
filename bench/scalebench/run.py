"""One run per process count: a fresh PostgreSQL schema, N processes started one
after another, ``rate`` ``/imagine`` a second round-robin over them for
``window`` s (open loop), the queue drained, then the figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from burstbench.load import Firing, clock
from burstbench.world import open_sandbox
from routerbench.sandbox import ChildSandbox

from tests.databases import postgres_schema
from tests.platforms.slack_fake import FakeSlack

from .measure import Figures, figures, open_reservations, read_ledger
from .world import Settings, cpu_s, machine_busy, redis_clients, redis_db, start_bots

SETTLE_S = 15.0  # the longest wait for the last reservations to settle after delivery


async def one(
    n: int,
    root: Path,
    slack: FakeSlack,
    sandbox: ChildSandbox,
    redis_url: str,
    s: Settings,
    *,
    rate: float,
    window: float,
    teams: Sequence[str],
) -> Figures:
    async with postgres_schema() as db_url:
        bots = await start_bots(n, root, slack, sandbox, db_url, redis_url, s)
        firing = Firing(slack, [b.url for b in bots], teams)
        try:
            pids = [b.proc.pid for b in bots if b.proc is not None]
            cpu0, busy0 = [cpu_s(p) for p in pids], machine_busy()
            since, before = time.time(), firing.delivered()
            print(f"{n} process(es): {rate:g} /imagine/s for {window:g} s …", flush=True)
            acks = await firing.steady(rate, window)
            start = clock()
            expected = len(acks) / (n * s.workers / s.latency_s)  # the ideal drain
            await firing.drained(before + len(acks), within=3 * expected + 60)
            print(f"    drained {clock() - start:.1f} s after the last arrival", flush=True)
            for _ in range(round(SETTLE_S / 0.2)):
                if not await open_reservations(db_url):
                    break
                await asyncio.sleep(0.2)
            busy1, linked = machine_busy(), await redis_clients(redis_url)
            cpu = [cpu_s(p) - c for p, c in zip(pids, cpu0, strict=True)]
            ledger = await read_ledger(db_url, since)
        finally:
            await firing.aclose()
            for bot in bots:
                await bot.stop()
    got = figures(
        n,
        acks,
        ledger,
        slack,
        servers=n * s.workers,
        service_s=s.latency_s,
        cpu_bots_s=cpu,
        cpu_machine_busy=(busy1[0] - busy0[0]) / (busy1[1] - busy0[1]),
        redis_clients=linked,
    )
    print(
        f"    {got.jobs_per_s:.2f} jobs/s, queue wait p50 {got.wait_p50:.2f} s"
        f" p99 {got.wait_p99:.2f} s, ack p99 {got.ack_p99:.3f} s,"
        f" delivered once {got.files_once}/{got.jobs},"
        f" ledger {'ok' if got.ledger_ok else 'MISMATCH'}",
        flush=True,
    )
    return got


async def run_all(
    counts: Sequence[int],
    root: Path,
    s: Settings,
    *,
    rate: float,
    window: float,
    workspaces: int,
    redis: str,
) -> list[Figures]:
    teams = [f"T0SCALE{i:03d}" for i in range(1, workspaces + 1)]
    sandbox = await open_sandbox()
    out = []
    try:
        await sandbox.set_latency("*", s.latency_s, s.jitter_s)
        async with redis_db(redis) as redis_url, FakeSlack() as slack:
            print(
                f"Redis {redis_url}; sandbox {s.latency_s:g} ± {s.jitter_s:g} s an image",
                flush=True,
            )
            for n in counts:
                got = await one(
                    n, root, slack, sandbox, redis_url, s, rate=rate, window=window, teams=teams
                )
                out.append(got)
    finally:
        await sandbox.stop()
    return out
