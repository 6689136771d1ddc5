"""The job runner: fair dispatch across workspaces, positions, failures, shutdown,
and restart recovery that never loses a job or bills it twice."""

import asyncio
import logging

import pytest

from bot.jobs import Job, JobState, JobStore
from bot.quotas import Quotas
from bot.scheduler import (
    INTERNAL,
    INTERRUPTED,
    REASON_BILLED,
    REASON_CRASH_LOOP,
    REASON_NOT_RESUMED,
    JobRunner,
)
from bot.store import Store
from tests.adapters.helpers import eventually
from tests.bot.jobs_world import (
    PRO,
    Notices,
    delivering,
    jobs,
    quotas,
    state,
    store,
    submit,
)

__all__ = ["jobs", "quotas", "store"]  # fixtures, used by name


# -- the runner ----------------------------------------------------------------
async def test_a_busy_guild_does_not_starve_another(jobs: JobStore, quotas: Quotas) -> None:
    seen: list[str] = []
    gate = asyncio.Event()
    runner = JobRunner(jobs, quotas, handler=delivering(jobs, seen, gate), concurrency=1)
    await runner.start()
    try:
        for n in range(20):
            await submit(jobs, "A", n, runner=runner)
        for n in range(2):
            await submit(jobs, "B", n, runner=runner)
        assert seen == ["A-0"]  # in flight, held by the gate
        gate.set()
        await asyncio.wait_for(runner.join(), 5)
    finally:
        await runner.aclose()
    assert seen[:5] == ["A-0", "A-1", "B-0", "A-2", "B-1"]
    assert seen[5:] == [f"A-{n}" for n in range(3, 20)]
    assert await jobs.unfinished() == []


async def test_positions_follow_dispatch_order(jobs: JobStore, quotas: Quotas) -> None:
    seen: list[str] = []
    gate = asyncio.Event()
    runner = JobRunner(jobs, quotas, handler=delivering(jobs, seen, gate), concurrency=1)
    a = [await submit(jobs, "A", n, runner=runner) for n in range(3)]
    b = [await submit(jobs, "B", n, runner=runner) for n in range(2)]
    c = await submit(jobs, "C", runner=runner)
    order = [a[0], b[0], c, a[1], b[1], a[2]]
    assert [runner.position(j.id) for j in order] == [1, 2, 3, 4, 5, 6]
    assert [j.id for j in runner.waiting()] == [j.id for j in order]
    assert runner.position("no-such-job") is None
    await runner.start()
    try:
        await eventually(lambda: seen)
        assert [j.id for j in runner.running] == [a[0].id]
        assert runner.position(a[0].id) is None  # running, not waiting
        assert [runner.position(j.id) for j in order[1:]] == [1, 2, 3, 4, 5]
        gate.set()
        await asyncio.wait_for(runner.join(), 5)
    finally:
        await runner.aclose()
    assert seen == ["A-0", "B-0", "C-0", "A-1", "B-1", "A-2"]
    assert all(runner.position(j.id) is None for j in order)


async def test_a_failing_handler_fails_its_job_and_the_worker_goes_on(
    jobs: JobStore, quotas: Quotas, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    deliver = delivering(jobs, seen)

    async def handler(job: Job) -> None:
        if job.payload["n"] == 0:
            raise RuntimeError("boom")
        if job.payload["n"] == 1:
            return  # forgot to record the outcome
        await deliver(job)

    runner = JobRunner(jobs, quotas, handler=handler, concurrency=1)
    await runner.start()
    try:
        crashed, forgotten, fine = [await submit(jobs, "A", n, runner=runner) for n in range(3)]
        await asyncio.wait_for(runner.join(), 5)
    finally:
        await runner.aclose()
    for job in (crashed, forgotten):
        failed = await jobs.get(job.id)
        assert failed is not None
        assert (failed.state, failed.error_code) == (JobState.FAILED, INTERNAL)
    assert await state(jobs, fine) is JobState.DELIVERED
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and errors[0].exc_info is not None


async def test_aclose_cancels_the_workers_and_leaves_jobs_for_recovery(
    jobs: JobStore, quotas: Quotas
) -> None:
    started: list[str] = []
    cancelled: list[str] = []

    async def hang(job: Job) -> None:
        started.append(job.id)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(job.id)
            raise

    before = asyncio.all_tasks()
    runner = JobRunner(jobs, quotas, handler=hang, concurrency=2)
    await runner.start()
    submitted = [await submit(jobs, "A", n, runner=runner) for n in range(3)]
    await eventually(lambda: len(started) == 2)
    assert len(asyncio.all_tasks()) == len(before) + 2
    await asyncio.wait_for(runner.aclose(), 2)
    assert asyncio.all_tasks() == before
    assert sorted(cancelled) == sorted(started) == sorted(j.id for j in submitted[:2])
    states = [await state(jobs, j) for j in submitted]
    assert states == [JobState.RUNNING, JobState.RUNNING, JobState.QUEUED]
    with pytest.raises(RuntimeError):
        await submit(jobs, "A", 9, runner=runner)


async def test_aclose_gives_running_jobs_a_grace_period(jobs: JobStore, quotas: Quotas) -> None:
    seen: list[str] = []
    deliver = delivering(jobs, seen)

    async def slow(job: Job) -> None:
        await asyncio.sleep(0.05)
        await deliver(job)

    runner = JobRunner(jobs, quotas, handler=slow, concurrency=1)
    await runner.start()
    first, second = (
        await submit(jobs, "A", 0, runner=runner),
        await submit(jobs, "A", 1, runner=runner),
    )
    await asyncio.sleep(0.01)
    await runner.aclose(grace_s=2)
    assert seen == ["A-0"]  # finished; the next one was not started
    assert [await state(jobs, j) for j in (first, second)] == [JobState.DELIVERED, JobState.QUEUED]


# -- restart recovery ------------------------------------------------------------
async def crashed_run(jobs: JobStore, quotas: Quotas, workspace: str = "A") -> Job:
    """A job a dead process left running, its reservation still open."""
    job = await submit(jobs, workspace)
    assert await jobs.mark_running(job.id)
    await quotas.reserve(workspace=job.tenant, user=job.user, estimate_usd=PRO, job_id=job.id)
    fresh = await jobs.get(job.id)
    assert fresh is not None
    return fresh


async def ledger(store: Store) -> list[tuple[str, str]]:
    rows = await store.fetchall("SELECT job_id, state FROM quota_reservations ORDER BY id")
    return [tuple(r) for r in rows]


async def test_recovery_requeues_queued_jobs_and_resumes_running_ones(
    store: Store, jobs: JobStore, quotas: Quotas
) -> None:
    queued = [await submit(jobs, "A", n) for n in range(2)]
    running = await crashed_run(jobs, quotas, "B")
    seen: list[str] = []
    billed: list[int] = []

    async def handler(job: Job) -> None:  # reserves afresh on every run, as the service does
        r = await quotas.reserve(
            workspace=job.tenant, user=job.user, estimate_usd=PRO, job_id=job.id
        )
        billed.append(job.runs)
        await delivering(jobs, seen)(job)
        await quotas.settle(r, cost_usd=PRO, model="m")

    runner = JobRunner(JobStore(store), quotas, handler=handler, concurrency=1)
    notices = Notices()
    report = await runner.recover(resume=True, notifier=notices)
    assert report.requeued == (queued[0].id, queued[1].id)
    assert report.resumed == (running.id,) and report.failed == ()
    assert report.released == 1 and report.settled == 0
    assert notices.resumed == [running.id] and notices.failed == []
    assert [j.id for j in runner.waiting()] == [queued[0].id, running.id, queued[1].id]
    assert await ledger(store) == [(running.id, "released")]  # before the rerun reserves

    await runner.start()
    try:
        await asyncio.wait_for(runner.join(), 5)
        assert (await runner.recover(resume=True, notifier=notices)).empty
    finally:
        await runner.aclose()
    assert seen == ["A-0", "B-0", "A-1"]
    assert sorted(billed) == [1, 1, 2]  # the resumed job is on its second run
    assert (await quotas.usage("discord:B")).images_today == 1
    assert [s for j, s in await ledger(store) if j == running.id] == ["released", "settled"]
    assert notices.resumed == [running.id]


async def test_recovery_can_fail_interrupted_jobs_with_a_notice(
    store: Store, jobs: JobStore, quotas: Quotas
) -> None:
    old, young = await crashed_run(jobs, quotas, "A"), await crashed_run(jobs, quotas, "B")
    runner = JobRunner(JobStore(store), quotas, handler=delivering(jobs, []), concurrency=1)
    notices = Notices()
    report = await runner.recover(resume=lambda job: job.id == young.id, notifier=notices)
    assert report.failed == (old.id,) and report.resumed == (young.id,)
    assert notices.failed == [(old.id, REASON_NOT_RESUMED)]
    failed = await jobs.get(old.id)
    assert failed is not None and (failed.state, failed.error_code) == ("failed", INTERRUPTED)
    assert await ledger(store) == [(old.id, "released"), (young.id, "released")]
    usage = await quotas.usage("discord:A")
    assert (usage.images_today, usage.images_reserved, usage.reserved_usd) == (0, 0, 0)
    assert (await runner.recover(resume=False, notifier=notices)).failed == ()  # young is ours
    await runner.aclose()


async def test_a_job_that_keeps_crashing_is_given_up(
    store: Store, jobs: JobStore, quotas: Quotas
) -> None:
    job = await submit(jobs, "A")
    notices = Notices()
    process = jobs
    for run in range(1, 4):
        assert await process.mark_running(job.id)  # a worker starts it; the process dies
        process = JobStore(store)  # the next process
        runner = JobRunner(process, quotas, handler=delivering(jobs, []))
        report = await runner.recover(resume=True, notifier=notices, max_runs=3)
        await runner.aclose()
        assert report.resumed == ((job.id,) if run < 3 else ())
    assert notices.failed == [(job.id, REASON_CRASH_LOOP)]
    assert await state(jobs, job) is JobState.FAILED


async def test_recovery_never_bills_a_job_twice(
    store: Store, jobs: JobStore, quotas: Quotas
) -> None:
    # Crashed after settling, before recording delivery: running it again would bill twice.
    billed = await crashed_run(jobs, quotas, "A")
    (reservation,) = await quotas.held_by(billed.id)
    await quotas.settle(reservation, cost_usd=PRO, model="pro")
    # Crashed after recording delivery, before settling: the bill is finished at its cost.
    delivered = await crashed_run(jobs, quotas, "B")
    await jobs.mark_delivered(delivered.id, attempts=(), cost_usd=0.039, model="flash", result={})
    # Crashed after recording failure, before releasing.
    failed = await crashed_run(jobs, quotas, "C")
    await jobs.mark_failed(failed.id, error_code="all_models_failed", attempts=())

    runner = JobRunner(JobStore(store), quotas, handler=delivering(jobs, []))
    notices = Notices()
    report = await runner.recover(resume=True, notifier=notices)
    assert report.resumed == () and report.failed == (billed.id,)
    assert notices.failed == [(billed.id, REASON_BILLED)]
    assert (report.settled, report.released) == (1, 1)
    assert await ledger(store) == [
        (billed.id, "settled"),
        (delivered.id, "settled"),
        (failed.id, "released"),
    ]
    assert (await quotas.usage("discord:B")).by_model["flash"].spent_usd == 0.039
    assert (await quotas.usage("discord:C")).images_today == 0
    assert (await runner.recover(resume=True, notifier=notices)).empty
    await runner.aclose()


async def test_a_notifier_that_fails_does_not_stop_recovery(
    store: Store, jobs: JobStore, quotas: Quotas
) -> None:
    first, second = await crashed_run(jobs, quotas, "A"), await crashed_run(jobs, quotas, "B")

    class Down:
        async def job_resumed(self, job: Job) -> None:
            raise ConnectionError("discord is down")

        async def job_failed(self, job: Job, *, reason: str) -> None:
            raise ConnectionError("discord is down")

    runner = JobRunner(JobStore(store), quotas, handler=delivering(jobs, []))
    report = await runner.recover(resume=lambda job: job.id == first.id, notifier=Down())
    assert (report.resumed, report.failed) == ((first.id,), (second.id,))
    assert await state(jobs, second) is JobState.FAILED
    await runner.aclose()


async def test_edits_to_a_busy_thread_do_not_hold_a_worker(jobs: JobStore, quotas: Quotas) -> None:
    seen: list[str] = []
    gate = asyncio.Event()
    runner = JobRunner(jobs, quotas, handler=delivering(jobs, seen, gate), concurrency=2)
    for n in range(3):  # three edits to one thread, then a job in another thread
        await submit(jobs, "A", n, thread="t1", runner=runner)
    other = await submit(jobs, "A", 9, thread="t2", runner=runner)
    await runner.start()
    try:
        await asyncio.sleep(0.05)
        assert seen == ["A-0", "A-9"]  # the second worker skipped the busy thread
        gate.set()
        await asyncio.wait_for(runner.join(), 5)
    finally:
        await runner.aclose()
    assert seen == ["A-0", "A-9", "A-1", "A-2"] and other.thread == "t2"  # edits in order
