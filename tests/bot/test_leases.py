"""Several processes on one database (SQLite, then PostgreSQL): each keeps the jobs it
owns while its heartbeat beats; a dead one's jobs are adopted by another exactly once,
after its lease, at once after a clean shutdown or when its pid is gone."""

import asyncio
import sys
from dataclasses import dataclass

from bot.jobs import Job, JobState, JobStore
from bot.leases import FOREIGN_LEASES, Workers
from bot.quotas import Quotas
from bot.scheduler import JobRunner, Recovery
from bot.store import Store
from tests.bot.jobs_world import PRO, Notices, delivering, quotas, store, submit

__all__ = ["quotas", "store"]  # fixtures, used by name

LEASE_S = 1.0


@dataclass
class Process:
    """One bot process: its job store (its worker id), its lease and its runner."""

    jobs: JobStore
    workers: Workers
    runner: JobRunner
    seen: list[str]
    platforms: tuple[str, ...] | None = None

    async def recover(self, notices: Notices) -> Recovery:
        return await self.runner.recover(
            resume=True, notifier=notices, workers=self.workers, platforms=self.platforms
        )

    async def aclose(self) -> None:
        await self.runner.aclose()
        await self.workers.aclose()


async def process(
    store: Store, quotas: Quotas, lease_s: float = LEASE_S, platforms: tuple[str, ...] = ()
) -> Process:
    jobs = JobStore(store)
    workers = Workers(store, worker=jobs.worker, lease_s=lease_s, platforms=platforms)
    await workers.start()
    seen: list[str] = []
    runner = JobRunner(jobs, quotas, handler=delivering(jobs, seen))
    return Process(jobs, workers, runner, seen, platforms or None)


async def running(p: Process, quotas: Quotas, workspace: str) -> Job:
    """A job ``p`` started (its reservation open), as a worker would."""
    job = await submit(p.jobs, workspace)
    assert await p.jobs.mark_running(job.id)
    await quotas.reserve(workspace=job.tenant, user=job.user, estimate_usd=PRO, job_id=job.id)
    return job


async def ledger(store: Store) -> list[tuple[str, str]]:
    rows = await store.fetchall("SELECT job_id, state FROM quota_reservations ORDER BY id")
    return [tuple(r) for r in rows]


async def owner(store: Store, job: Job) -> str | None:
    row = await store.fetchone("SELECT owner FROM jobs WHERE id = ?", (job.id,))
    assert row is not None
    return row["owner"]


async def test_a_live_process_keeps_its_jobs(store: Store, quotas: Quotas) -> None:
    a, b = await process(store, quotas), await process(store, quotas)
    try:
        waiting = await submit(a.jobs, "A", runner=a.runner)
        busy = await running(a, quotas, "B")
        # delivered, not yet settled: a's bill to close, not b's
        done = await running(a, quotas, "C")
        await a.jobs.mark_delivered(done.id, attempts=(), cost_usd=0.039, model="m", result={})
        notices = Notices()
        assert (await b.recover(notices)).empty
        assert (notices.resumed, notices.failed, b.runner.waiting()) == ([], [], [])
        assert [await owner(store, j) for j in (waiting, busy, done)] == [a.jobs.worker] * 3
        assert await ledger(store) == [(busy.id, "reserved"), (done.id, "reserved")]
        await a.runner.start()
        await asyncio.wait_for(a.runner.join(), 5)
        assert a.seen == ["A-0"] and b.seen == []
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_dead_process_s_jobs_are_adopted_once_after_its_lease(
    store: Store, quotas: Quotas
) -> None:
    a, b = await process(store, quotas), await process(store, quotas)
    try:
        waiting = await submit(a.jobs, "A", runner=a.runner)  # in a's queue, not started
        busy = await running(a, quotas, "B")
        done = await running(a, quotas, "C")  # delivered; a died before settling
        await a.jobs.mark_delivered(done.id, attempts=(), cost_usd=0.039, model="m", result={})
        await a.workers.stop()  # a hangs or dies: its heartbeat stops, its row stays
        notices = Notices()
        assert (await b.recover(notices)).empty  # its lease has not run out yet
        await asyncio.sleep(LEASE_S * 1.2)
        report = await b.recover(notices)
        assert (report.requeued, report.resumed) == ((waiting.id,), (busy.id,))
        assert (report.released, report.settled) == (1, 1)
        assert notices.resumed == [busy.id] and notices.failed == []
        assert (await b.recover(notices)).empty  # adopted once
        await asyncio.gather(a.runner.start(), b.runner.start())
        await asyncio.wait_for(asyncio.gather(a.runner.join(), b.runner.join()), 5)
        assert a.seen == [] and sorted(b.seen) == ["A-0", "B-0"]  # a may not start it now
        assert await ledger(store) == [(busy.id, "released"), (done.id, "settled")]
        assert (await quotas.usage("discord:C")).by_model["m"].spent_usd == 0.039  # once
        assert [await owner(store, j) for j in (waiting, busy)] == [b.jobs.worker] * 2
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_clean_shutdown_leaves_its_jobs_to_be_adopted_at_once(
    store: Store, quotas: Quotas
) -> None:
    a, b = await process(store, quotas, lease_s=60), await process(store, quotas, lease_s=60)
    try:
        waiting = await submit(a.jobs, "A", runner=a.runner)
        await a.aclose()  # the job stays queued; a's lease ends with it
        assert a.jobs.worker not in await b.workers.live()
        notices = Notices()
        assert (await b.recover(notices)).requeued == (waiting.id,)
        await b.runner.start()
        await asyncio.wait_for(b.runner.join(), 5)
        assert b.seen == ["A-0"]
        fresh = await b.jobs.get(waiting.id)
        assert fresh is not None and fresh.state is JobState.DELIVERED
    finally:
        await b.aclose()


async def test_a_process_whose_pid_is_gone_is_dead_before_its_lease_ends(
    store: Store, quotas: Quotas
) -> None:
    b = await process(store, quotas, lease_s=60)
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()  # reaped: its pid names no process now
    dead, alive = JobStore(store), JobStore(store)
    for jobs, pid in ((dead, gone.pid), (alive, 1)):  # pid 1 is always there
        await store.execute(
            "INSERT INTO workers (id, host, pid, started_at, seen_at) VALUES (?, ?, ?, 0, ?)",
            (jobs.worker, b.workers.host, pid, 4e9),  # seen far in the future: never lapses
        )
    try:
        orphan, kept = await submit(dead, "A"), await submit(alive, "B")
        report = await b.recover(Notices())
        assert report.requeued == (orphan.id,)
        assert await owner(store, kept) == alive.worker
        assert await b.workers.live() == {alive.worker, b.jobs.worker}
    finally:
        await b.aclose()


async def test_another_platform_s_orphans_wait_for_their_own_processes(
    store: Store, quotas: Quotas
) -> None:
    """A Discord process that stops leaves its queued job to the next Discord process,
    not to a Slack-only one (which could only fail it) — unless no Discord process has
    been seen for FOREIGN_LEASES leases: then the Slack process fails it, told."""
    lease = 0.1  # FOREIGN_LEASES (10) leases: 1 s
    first = await process(store, quotas, lease_s=lease, platforms=("discord",))
    job = await submit(first.jobs, "A")
    await first.aclose()
    slack = await process(store, quotas, lease_s=lease, platforms=("slack",))
    later = await process(store, quotas, lease_s=lease, platforms=("discord",))
    try:
        assert (await slack.recover(Notices())).requeued == ()
        assert (await later.recover(Notices())).requeued == (job.id,)
        await later.workers.stop()  # a crash: no Discord process beats any more
        await later.runner.aclose()
        assert (await slack.recover(Notices())).requeued == ()  # not yet
        await asyncio.sleep(lease * FOREIGN_LEASES + 0.3)
        assert (await slack.recover(Notices())).requeued == (job.id,)
    finally:
        await slack.aclose()


async def test_jobs_from_before_owners_existed_are_adopted(store: Store, quotas: Quotas) -> None:
    old = await submit(JobStore(store), "A")
    await store.execute("UPDATE jobs SET owner = NULL WHERE id = ?", (old.id,))
    b = await process(store, quotas, lease_s=60)
    try:
        assert (await b.recover(Notices())).requeued == (old.id,)
    finally:
        await b.aclose()


async def test_two_adopters_racing_split_the_orphans(db_url: str) -> None:
    """Two processes (a pool / a connection each) adopt at once: no job goes to both."""
    one, two = await Store.open(db_url), await Store.open(db_url)
    try:
        dead = JobStore(one)  # never registered: its jobs are orphans from the start
        made = {(await submit(dead, "A", n)).id for n in range(40)}
        first, second = JobStore(one), JobStore(two)
        for jobs, db in ((first, one), (second, two)):  # alive: what one takes stays taken
            await Workers(db, worker=jobs.worker, lease_s=60).register()

        async def adopt_all(jobs: JobStore) -> list[str]:
            taken: list[str] = []
            while batch := await jobs.adopt(lease_s=60, limit=3):
                taken += [job.id for job in batch]
                await asyncio.sleep(0)
            return taken

        got_one, got_two = await asyncio.gather(adopt_all(first), adopt_all(second))
        assert set(got_one).isdisjoint(got_two)
        assert sorted(got_one + got_two) == sorted(made)
        if one.dialect == "postgresql":  # (SQLite's one writer may let one connection win all)
            assert got_one and got_two  # both took part
    finally:
        await one.close()
        await two.close()
