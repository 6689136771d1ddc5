"""Three ``imagine-bot run`` processes on one PostgreSQL and one Redis (issue 14).

Slack HTTP mode behind a load balancer (this test: round-robin over the live
processes), 300 ``/imagine`` from 20 workspaces while the primary answers 45 % of
calls with 503 "high demand". One process is SIGKILLed mid-run; the two left adopt
its jobs once its lease runs out. Then:

- every job is delivered once, or failed with a notice in its thread;
- no image is posted twice; nothing is left reserved;
- the ledger — settled reservations, the usage counters, the jobs' recorded costs —
  equals the catalogue prices of the delivered images, to the micro-dollar;
- with the primary then forced down, every live process stops calling it within 1 s
  of the first trip (the trip is shared through Redis) but for the probe one of them
  makes each interval (claimed in Redis).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.parse
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis

from adapters.sandbox import Fault
from bot.catalog import load_catalog
from bot.jobs import names_job
from tests.adapters.helpers import eventually
from tests.databases import postgres_schema
from tests.integration.bot_process import BotProcess
from tests.platforms.slack_bot import FLASH, PRO, slack_world

PROCESSES, JOBS, WORKSPACES = 3, 300, 20
LEASE_S = 2  # a dead process's jobs are adopted this long after its last heartbeat
REDIS_URL = os.environ.get("IMAGINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_DB = 13  # this test's own: flushed before it runs
TRIP = re.compile(r"^(\S+ \S+) WARNING \S+: (\S+) tripped")


def _redis_url() -> str:
    return f"{REDIS_URL.rsplit('/', 1)[0]}/{REDIS_DB}"


async def _fire(w: Any, url: str, n: int, prompt: str) -> str:
    """One signed ``/imagine`` from person ``n`` in workspace ``n % WORKSPACES``."""
    fields = w.slack.slash_payload(text=f"{prompt} no. {n}", user_id=f"U{n:06d}")
    fields["team_id"] = f"T{n % WORKSPACES:04d}"
    body = urllib.parse.urlencode(fields)
    said = await w.slack.post_signed(url, body, "application/x-www-form-urlencoded")
    assert said.status == 200, said.body
    return str(said.body)


async def _rows(db: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def _key(process: int) -> str:
    return f"sandbox-key-process-{process}"


def _wall(stamp: str) -> float:
    """A log line's time (the children log local time, as this process reads it)."""
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


async def _all_finished(db: str, n: int, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while True:
        rows = await _rows(db, "SELECT state FROM jobs")
        if len(rows) == n and all(r["state"] in ("delivered", "failed") for r in rows):
            return
        assert time.monotonic() < deadline, f"{len(rows)} jobs, not all finished"
        await asyncio.sleep(0.2)


async def test_three_processes_one_killed_every_job_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flush = redis.from_url(_redis_url())
    await flush.flushdb()
    await flush.aclose()
    async with postgres_schema() as db, slack_world(tmp_path, monkeypatch, start=False) as w:
        w.sandbox.script(PRO, [Fault("overloaded", probability=0.45)])
        for model in (PRO, FLASH):
            w.sandbox.set_latency(model, 0.3, jitter=0.2)  # jobs are still running at the kill
        shared = {
            "IMAGINE_DATABASE_URL": db,
            "IMAGINE_REDIS_URL": _redis_url(),
            "IMAGINE_LEASE_S": str(LEASE_S),
            "IMAGINE_DAILY_IMAGES_PER_GUILD": "0",
            "IMAGINE_MONTHLY_BUDGET_USD_PER_GUILD": "0",
            "IMAGINE_GUILD_CONCURRENCY": "0",
            "IMAGINE_HEDGE": "false",
        }
        bots: list[BotProcess] = []
        try:
            for n in range(PROCESSES):
                env = {**w.env, **shared, "GEMINI_API_KEY": _key(n)}
                env["IMAGINE_DATA_DIR"] = str(tmp_path / f"data{n}")
                bots.append(await BotProcess.start(env, tmp_path))
            await _run(w, db, bots)
        finally:
            for bot in bots:
                await bot.end()


async def _run(w: Any, db: str, bots: list[BotProcess]) -> None:
    urls = [f"http://127.0.0.1:{bot.port}/slack/events" for bot in bots]

    # -- 300 requests, round-robin; one process is killed while its jobs run ------
    async def paced(n: int) -> str:  # 150 a second, as a busy team's would come
        await asyncio.sleep(n / 150)
        return await _fire(w, urls[n % PROCESSES], n, "a lighthouse")

    acks = await asyncio.gather(*(paced(n) for n in range(JOBS)))
    odd = [a for a in acks if "Queued" not in a and "Working on it" not in a]
    assert odd == [], "\n".join(ln for bot in bots for ln in bot.lines if "ERROR" in ln)
    victim = bots[1]
    await eventually(lambda: len([f for f in w.slack.files.values() if f.shares]) >= 40, 30)
    await victim.kill()

    await _all_finished(db, JOBS, 90)
    adopted = [line for bot in bots for line in bot.lines if "adopt" in line.lower()]
    assert adopted, "the live processes never adopted the dead one's jobs"

    # -- every job once, or failed with a notice -----------------------------------
    jobs = await _rows(db, "SELECT id, state, model, cost_musd, message FROM jobs")
    files = list(w.slack.files.values())
    channel = w.slack.default_channel
    for job in jobs:
        posted = [f for f in files if names_job(f.name, job["id"]) and f.shares]
        if job["state"] == "delivered":
            assert len(posted) == 1, (job["id"], [f.name for f in posted])
        else:
            assert posted == [], job["id"]
            shown = w.slack.find_message(channel, job["message"]) or {}
            assert shown, f"failed job {job['id']} has no message"
            told = str(shown.get("blocks")) + str(
                [m for m in w.slack.messages[channel] if m.get("thread_ts") == job["message"]]
            )
            assert "Retry" in told or "restart" in told, (job["id"], told[:300])
    delivered = [j for j in jobs if j["state"] == "delivered"]
    assert len(delivered) >= JOBS * 0.9, f"only {len(delivered)} of {JOBS} delivered"
    assert sum(1 for f in files if f.shares) == len(delivered)  # no stray or double post

    # -- the ledger equals the delivered images' prices ------------------------------
    catalog = load_catalog()
    want = sum(round(catalog.models[j["model"]].price_for(None) * 1_000_000) for j in delivered)
    assert sum(j["cost_musd"] for j in delivered) == want
    settled = await _rows(db, "SELECT state, job_id, cost_musd FROM quota_reservations ORDER BY id")
    assert all(r["state"] in ("settled", "released") for r in settled)  # nothing held
    assert sum(r["cost_musd"] or 0 for r in settled if r["state"] == "settled") == want
    per_job: dict[str, int] = {}
    for r in settled:
        per_job[r["job_id"]] = per_job.get(r["job_id"], 0) + (r["state"] == "settled")
    assert all(per_job.get(j["id"], 0) == 1 for j in delivered)  # billed once each
    assert all(per_job.get(j["id"], 0) == 0 for j in jobs if j["state"] == "failed")
    spent = await _rows(db, "SELECT SUM(spent) AS s FROM quota_usage WHERE counter = 'musd'")
    assert spent[0]["s"] == want

    # -- the primary forced down: every live process stops within 1 s of the trip ----
    live = [n for n in range(PROCESSES) if bots[n] is not victim]
    w.sandbox.script(PRO, [Fault("overloaded")])
    calls_before = len(w.sandbox.calls)
    wall0, mono0 = time.time(), time.monotonic()

    def trips() -> list[float]:  # this phase's trips made in a process (not adopted)
        found = [
            _wall(m.group(1))
            for n in live
            for line in bots[n].lines
            if (m := TRIP.match(line)) and m.group(2).startswith(PRO)
        ]
        return [t for t in found if t >= wall0 - 0.05]

    # keep asking (20 a second) until a trip here, then 3 s more: the primary may still
    # be open from the first phase's 503s, so its first trip now can be a failed probe's
    sent, done_at = 0, None
    while done_at is None or time.monotonic() < done_at:
        assert time.monotonic() - mono0 < 90, "the primary never tripped"
        await _fire(w, urls[live[sent % 2]], JOBS + sent, "a harbour")
        sent += 1
        if done_at is None and trips():
            done_at = time.monotonic() + 3
        await asyncio.sleep(0.05)
    await _all_finished(db, JOBS + sent, 60)
    first_trip = min(trips()) - wall0 + mono0  # on the sandbox's clock (monotonic)
    # after that second only probes: one process (the one that claims it in Redis) tries
    # the primary once an interval, so no two calls come within a second of each other
    late = sorted(
        (c.started, c.headers.get("x-goog-api-key"))
        for c in w.sandbox.calls[calls_before:]
        if c.model == PRO and c.started > first_trip + 1.0
    )
    close = [(a, b) for a, b in pairwise(late) if b[0] - a[0] < 1.0]
    said = [ln for n in live for ln in bots[n].lines if "tripped" in ln or "recovered" in ln]
    assert close == [], "\n".join([f"first trip {first_trip}: calls {late}", *said])
    for bot in bots:
        if bot is not victim:
            await bot.stop()
