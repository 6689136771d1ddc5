"""Job records: idempotent submission, what a rerun needs, one change of state at a time."""

import asyncio
from typing import Any

from bot.domain import Attempt, ImageInput, Outcome
from bot.jobs import JobState, JobStore
from bot.store import Store
from tests.adapters.helpers import png
from tests.bot.jobs_world import (
    jobs,
    quotas,
    store,
    submit,
)

__all__ = ["jobs", "quotas", "store"]  # fixtures, used by name


# -- records -------------------------------------------------------------------
async def test_a_redelivered_event_finds_its_job(store: Store, jobs: JobStore) -> None:
    first, created = await jobs.submit(
        platform="slack",
        workspace="T1",
        channel="C1",
        thread="1700000000.0001",
        user="U1",
        kind="imagine",
        payload={"prompt": "a cat"},
        idempotency_key="Ev123",
    )
    again, created_again = await jobs.submit(
        platform="slack",
        workspace="T1",
        channel="C1",
        thread="1700000000.0001",
        user="U1",
        kind="imagine",
        payload={"prompt": "a cat (retried by Slack)"},
        idempotency_key="Ev123",
    )
    assert created and not created_again
    assert again == first and again.payload == {"prompt": "a cat"}
    await submit(jobs, "T1", key="Ev123")  # the same id on another platform is another event
    await submit(jobs, "T1")  # no key: every submit is a job
    await submit(jobs, "T1")
    rows = await store.fetchall("SELECT platform, idempotency_key FROM jobs ORDER BY rowid")
    assert [tuple(r) for r in rows] == [
        ("slack", "Ev123"),
        ("discord", "Ev123"),
        ("discord", None),
        ("discord", None),
    ]


async def test_a_job_keeps_what_a_rerun_needs_across_a_restart(db_url: str) -> None:
    ref, other = png(), png(8, 8, (0, 0, 255))
    async with await Store.open(db_url) as store:
        job, _ = await JobStore(store).submit(
            platform="discord",
            workspace="G1",
            channel="c",
            thread="t",
            user="u",
            kind="edit",
            payload={"prompt": "add a hat", "aspect": "3:4", "size": "2K"},
            idempotency_key="interaction-9",
            references=(ImageInput(ref, "image/png"), ImageInput(other, "image/png")),
        )
    async with await Store.open(db_url) as store:
        jobs = JobStore(store)
        again = await jobs.get(job.id)
        assert again is not None and again.state is JobState.QUEUED
        assert again.payload == {"prompt": "add a hat", "aspect": "3:4", "size": "2K"}
        loaded = await jobs.load_references(again)
        assert loaded == (ImageInput(ref, "image/png"), ImageInput(other, "image/png"))
        assert [j.id for j in await jobs.unfinished()] == [job.id]


async def test_each_state_change_happens_once(jobs: JobStore) -> None:
    job = await submit(jobs, "G1")
    attempts = [
        Attempt("pro", "google", Outcome.OVERLOADED, latency_ms=80, status=503),
        Attempt("flash", "google", Outcome.OK, latency_ms=900, cost_usd=0.039),
    ]
    done: dict[str, Any] = {"attempts": attempts, "cost_usd": 0.039, "model": "flash"}
    assert not await jobs.mark_delivered(job.id, **done, result={})  # not running yet
    assert await jobs.mark_running(job.id)
    assert not await jobs.mark_running(job.id)
    assert await jobs.mark_delivered(job.id, **done, result={"session": "k", "version": 2})
    assert not await jobs.mark_delivered(job.id, **done, result={"version": 3})
    assert not await jobs.mark_failed(job.id, error_code="timeout", attempts=())
    assert not await jobs.requeue(job.id)
    final = await jobs.get(job.id)
    assert final is not None and final.finished and final.runs == 1
    assert (final.state, final.cost_usd, final.model) == (JobState.DELIVERED, 0.039, "flash")
    assert final.result == {"session": "k", "version": 2}
    assert final.attempts == tuple(a.as_json() for a in attempts)
    assert final.error_code is None and final.finished_at is not None

    queued = await submit(jobs, "G1")  # a queued job can be failed (e.g. at recovery)
    assert await jobs.mark_failed(queued.id, error_code="interrupted", attempts=())
    assert not await jobs.mark_running(queued.id)
    assert await jobs.unfinished() == []


async def test_an_event_delivered_to_two_processes_at_once_makes_one_job(db_url: str) -> None:
    """The event key is unique in the database, not in one process: two stores (two bot
    processes) taking the same redelivered event together find one job between them."""
    async with await Store.open(db_url) as one, await Store.open(db_url) as two:
        made = await asyncio.gather(
            *(submit(JobStore(s), "T1", n, key=f"Ev{n}") for n in range(20) for s in (one, two))
        )
        assert len({job.id for job in made}) == 20
        row = await one.fetchone("SELECT count(*) FROM jobs")
        assert row is not None and row[0] == 20
