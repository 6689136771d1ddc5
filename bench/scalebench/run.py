"""One run per process count: a fresh PostgreSQL schema, N processes started one
after another, ``rate`` ``/imagine`` a second round-robin over them for
``window`` s (open loop), the queue drained, then the figures."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from burstbench.load import Firing, clock
from burstbench.world import open_sandbox
from routerbench.sandbox import ChildSandbox

from tests.databases import postgres_schema
from tests.platforms.slack_fake import FakeSlack

from .measure import Figures, figures, headroom, read_ledger, schema_of, unsettled
from .world import Settings, cpu_now, machine_busy, redis_clients, redis_db, start_bots


async def drain(conn: asyncpg.Connection, schema: str, since: float, *, within: float) -> None:
    """Until every job of the run has finished and its reservation is closed (a job
    that could not be queued never appears: the acks count those)."""
    deadline = clock() + within
    while left := await unsettled(conn, schema, since):
        if clock() > deadline:
            raise TimeoutError(f"{left} jobs or reservations still open after {within:.0f} s")
        await asyncio.sleep(0.25)


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
        schema, conn = schema_of(db_url), await asyncpg.connect(db_url)
        try:
            await headroom(conn, n)
            bots = await start_bots(n, root, slack, sandbox, db_url, redis_url, s)
        except BaseException:
            await conn.close()
            raise
        firing = Firing(slack, [b.url for b in bots], teams)
        try:
            pids = {f"bot {i}": b.proc.pid for i, b in enumerate(bots, 1) if b.proc}
            if sandbox.proc is not None:
                pids["sandbox"] = sandbox.proc.pid
            cpu0, busy0 = cpu_now(pids), machine_busy()
            since = time.time()
            print(f"{n} process(es): {rate:g} /imagine/s for {window:g} s …", flush=True)
            acks = await firing.steady(rate, window)
            start = clock()
            ideal = len(acks) / (n * s.workers / s.latency_s)  # the ideal drain
            await drain(conn, schema, since, within=3 * ideal + 60)
            print(f"    drained {clock() - start:.1f} s after the last arrival", flush=True)
            busy1, linked = machine_busy(), await redis_clients(redis_url)
            cpu = {k: v - cpu0[k] for k, v in cpu_now(pids).items()}
            ledger = await read_ledger(conn, schema, since)
        finally:
            await conn.close()
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
        cpu_s=cpu,
        cpu_machine_busy=(busy1[0] - busy0[0]) / (busy1[1] - busy0[1]),
        measured_s=(busy1[1] - busy0[1]) / (os.cpu_count() or 1),
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
