"""Shared by the job tests: a real store (SQLite, then PostgreSQL: ``db_url``), a
ledger, a notifier that records, and helpers to submit and deliver jobs."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from bot.jobs import Job, JobState, JobStore
from bot.quotas import Quotas
from bot.scheduler import (
    INTERRUPTED,
    JobRunner,
)
from bot.store import Store

PRO = 0.134


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    async with await Store.open(db_url) as store:
        yield store


@pytest.fixture
def jobs(store: Store) -> JobStore:
    return JobStore(store)


@pytest.fixture
async def quotas(store: Store) -> AsyncIterator[Quotas]:
    quotas = Quotas(store, daily_images=0, monthly_budget_usd=0, user_rate=None)
    yield quotas
    await quotas.aclose()


@dataclass
class Notices:
    resumed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    async def job_resumed(self, job: Job) -> None:
        self.resumed.append(job.id)

    async def job_failed(self, job: Job, *, reason: str) -> None:
        assert job.state is JobState.FAILED and job.error_code == INTERRUPTED
        self.failed.append((job.id, reason))


async def submit(
    jobs: JobStore,
    workspace: str,
    n: int = 0,
    key: str | None = None,
    thread: str | None = None,
    runner: JobRunner | None = None,
) -> Job:
    """A job in its own thread (like each /imagine), unless ``thread`` is given; queued
    on ``runner`` if new (as ``ImagineService.submit`` does)."""
    job, created = await jobs.submit(
        platform="discord",
        workspace=workspace,
        channel="c1",
        thread=thread or f"t-{workspace}-{n}",
        user="u1",
        kind="imagine",
        payload={"prompt": f"{workspace}-{n}", "n": n},
        idempotency_key=key,
    )
    if runner is not None and created:
        runner.enqueue(job)
    return job


def delivering(
    jobs: JobStore, seen: list[str], gate: asyncio.Event | None = None
) -> Callable[[Job], Awaitable[None]]:
    """A handler that records the job's prompt, waits for ``gate`` the first time, delivers."""

    async def handle(job: Job) -> None:
        seen.append(job.payload["prompt"])
        if gate is not None and len(seen) == 1:
            await gate.wait()
        await jobs.mark_delivered(job.id, attempts=(), cost_usd=0.0, model="m", result={})

    return handle


async def state(jobs: JobStore, job: Job) -> JobState:
    fresh = await jobs.get(job.id)
    assert fresh is not None
    return fresh.state
