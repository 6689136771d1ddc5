"""What one run did, read after it from PostgreSQL and the fake Slack, and the oracle.

- **Queue wait** of a job: ``started_at − created_at`` from the ``jobs`` table
  (the bot's own clock, exact, no instrumentation).
- **jobs/s**: the rate of deliveries in the steady middle of the run: the jobs
  finished between the 10th and the 90th percentile of ``finished_at``, over the
  time between them. Arrivals are faster than the processes serve, so there is a
  queue all along and this is their capacity, without the edges (workers filling
  at the start, the last round finishing at the end). Also kept: jobs delivered /
  (last ``finished_at`` − first ``started_at``), the whole busy span.
- **Delivered once**: each job's thread in the fake Slack holds exactly one
  uploaded file (0: lost; 2 or more: a duplicate post).
- **Ledger**: the settled reservations' cost = the delivered jobs' cost, and no
  reservation left open.
- **Oracle queue wait**: the same queued times (``created_at``) through an ideal
  first-come-first-served queue with ``servers`` workers, each image taking the
  sandbox's mean latency and nothing else (no Slack calls, no database, no CPU).
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
from burstbench.run import pct

from bot.store_pg import POOL_MAX
from tests.platforms.slack_fake import FakeSlack


def schema_of(db_url: str) -> str:
    return parse_qs(urlsplit(db_url).query)["search_path"][0]


async def headroom(conn: asyncpg.Connection, processes: int) -> None:
    """Fail early unless the server has a connection for every process's full pool."""
    most = int(await conn.fetchval("SHOW max_connections"))
    used = int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity"))
    need = processes * POOL_MAX + 1
    if most - used < need:
        raise RuntimeError(
            f"PostgreSQL has {most - used} free connections of {most} ({used} in use);"
            f" {processes} bot processes may take {need} (see IMAGINE_TEST_POSTGRES_URL)"
        )


async def read_ledger(conn: asyncpg.Connection, schema: str, since: float) -> dict[str, Any]:
    """The jobs queued at or after ``since`` (wall clock) and their reservations."""
    jobs = await conn.fetch(
        f"SELECT id, thread, state, model, attempts, cost_musd,"
        f" created_at, started_at, finished_at"
        f" FROM {schema}.jobs WHERE created_at >= $1 ORDER BY created_at",
        since,
    )
    res = await conn.fetch(
        f"SELECT job_id, state, cost_musd FROM {schema}.quota_reservations"
        f" WHERE job_id = ANY($1::text[])",
        [j["id"] for j in jobs],
    )
    return {"jobs": [dict(j) for j in jobs], "reservations": [dict(r) for r in res]}


async def unsettled(conn: asyncpg.Connection, schema: str, since: float) -> int:
    """Jobs queued at or after ``since`` still queued or running, plus reservations
    still open: 0 once the run has drained and its ledger settled."""
    got = await conn.fetchval(
        f"SELECT (SELECT count(*) FROM {schema}.jobs WHERE created_at >= $1"
        f" AND state IN ('queued', 'running'))"
        f" + (SELECT count(*) FROM {schema}.quota_reservations WHERE state = 'reserved')",
        since,
    )
    return int(got)


def ideal_waits(queued: Sequence[float], servers: int, service_s: float) -> list[float]:
    """Queue waits of jobs queued at ``queued`` on ``servers`` ideal FIFO workers."""
    free = [min(queued, default=0.0)] * servers
    waits = []
    for t in sorted(queued):
        start = max(t, heapq.heappop(free))
        waits.append(start - t)
        heapq.heappush(free, start + service_s)
    return waits


@dataclass
class Figures:
    n: int  # processes
    sent: int
    acked_ok: int  # acks with HTTP 200
    acked_queued: int  # acks whose answer said "Queued"
    ack_p50: float
    ack_p99: float
    jobs: int  # jobs in the database from this run
    delivered: int
    jobs_per_s: float  # steady: between the 10th and 90th percentile finish
    span_jobs_per_s: float  # over the whole busy span
    wait_p50: float
    wait_p99: float
    wait_max: float
    files_once: int  # jobs whose thread holds exactly one image
    files_missing: int
    files_duplicated: int  # jobs whose thread holds more than one
    jobs_cost_musd: int
    settled_musd: int
    reservations_open: int
    reservations_released: int
    oracle_wait_p50: float
    oracle_wait_p99: float
    cpu_s: dict[str, float]  # CPU seconds during the run: each bot, sandbox, bench, postgres
    cpu_machine_busy: float  # share of all cores busy during the run (everyone's work)
    measured_s: float  # how long the CPU figures cover (arrivals, drain, settling)
    models: dict[str, int]  # delivered jobs by the model that made the image
    multi_attempt: int  # jobs with more than one model call (a hedge or a failover)
    multi_examples: list[str]  # the attempts of the first few of them
    span_s: float
    redis_clients: int  # connections on the run's Redis database at the end

    @property
    def ledger_ok(self) -> bool:
        return self.settled_musd == self.jobs_cost_musd and self.reservations_open == 0


def figures(
    n: int,
    acks: Sequence[Any],
    ledger: dict[str, Any],
    slack: FakeSlack,
    *,
    servers: int,
    service_s: float,
    cpu_s: dict[str, float],
    cpu_machine_busy: float,
    measured_s: float,
    redis_clients: int,
) -> Figures:
    jobs, res = ledger["jobs"], ledger["reservations"]
    done = [j for j in jobs if j["state"] == "delivered"]
    waits = [j["started_at"] - j["created_at"] for j in jobs if j["started_at"] is not None]
    span = max(j["finished_at"] for j in done) - min(j["started_at"] for j in done)
    ends = sorted(j["finished_at"] for j in done)
    lo, hi = round(0.1 * (len(ends) - 1)), round(0.9 * (len(ends) - 1))
    per_thread = Counter(f.thread_ts for f in slack.files.values() if f.data is not None)
    uploads = [per_thread.get(j["thread"], 0) for j in jobs]
    oracle = ideal_waits([j["created_at"] for j in jobs], servers, service_s)
    lat = [a.latency for a in acks]
    multi = [j["attempts"] for j in jobs if len(json.loads(j["attempts"] or "[]")) > 1]
    return Figures(
        n=n,
        sent=len(acks),
        acked_ok=sum(a.status == 200 for a in acks),
        acked_queued=sum(a.queued for a in acks),
        ack_p50=pct(lat, 50),
        ack_p99=pct(lat, 99),
        jobs=len(jobs),
        delivered=len(done),
        jobs_per_s=(hi - lo) / (ends[hi] - ends[lo]),
        span_jobs_per_s=len(done) / span,
        wait_p50=pct(waits, 50),
        wait_p99=pct(waits, 99),
        wait_max=max(waits),
        files_once=sum(u == 1 for u in uploads),
        files_missing=sum(u == 0 for u in uploads),
        files_duplicated=sum(u > 1 for u in uploads),
        jobs_cost_musd=sum(j["cost_musd"] or 0 for j in done),
        settled_musd=sum(r["cost_musd"] or 0 for r in res if r["state"] == "settled"),
        reservations_open=sum(r["state"] == "reserved" for r in res),
        reservations_released=sum(r["state"] == "released" for r in res),
        oracle_wait_p50=pct(oracle, 50),
        oracle_wait_p99=pct(oracle, 99),
        cpu_s=cpu_s,
        cpu_machine_busy=cpu_machine_busy,
        measured_s=measured_s,
        models=dict(Counter(j["model"] for j in done)),
        multi_attempt=len(multi),
        multi_examples=multi[:5],
        span_s=span,
        redis_clients=redis_clients,
    )
