"""Adoption (restart recovery): take over what dead workers left, never running a job or
billing it twice.

``adopt_orphans`` (``JobRunner.recover``: at start-up, before new submissions are taken,
then every ``lease_s / 2`` while the process runs) first closes the open reservations
of finished jobs no live worker owns (a crash came between recording the outcome and
settling: settled at the recorded cost if delivered, released if failed). Then it adopts
orphaned unfinished jobs (``JobStore.adopt``; see ``bot.leases``), a batch per
statement, and for each one releases every reservation it holds and decides:

- a queued job goes in this process's queue;
- a running one (its process died under it) is requeued and resumed, with a
  ``job_resumed`` notice, or failed with ``job_failed`` (the resume policy says no,
  it crashed ``max_runs`` times, or it was already billed: running it again bills twice).

A process adopts the jobs of the platforms it serves (its sinks) first; another
platform's orphans (a Discord-only process, a Slack process's jobs) only when no worker
serving that platform has been seen for ``FOREIGN_LEASES`` leases (``bot.leases``) —
then it fails them (releasing what they hold) rather than leave them unfinished.

Only the adopter handles a job, so two live processes never both run or announce one.
The notices are said at least once (a crash between the notice and the state change
says it again at the next recovery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.jobs import ADOPT_BATCH, Job, JobState, JobStore
from bot.leases import FOREIGN_LEASES, LEASE_S, Workers
from bot.quotas import Quotas

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"  # error code: a restart cut the job off and it was not resumed
REASON_NOT_RESUMED = "not_resumed"  # the resume policy said no
REASON_CRASH_LOOP = "crash_loop"  # the job was running at max_runs crashes in a row
REASON_BILLED = "billed"  # the job was billed but not delivered: running it again bills twice
NOTIFY_TIMEOUT_S = 10.0


class JobNotifier(Protocol):
    """What a platform adapter says in the job's thread after a restart."""

    async def job_resumed(self, job: Job) -> None: ...

    async def job_failed(self, job: Job, *, reason: str) -> None: ...


class Queue(Protocol):
    """Where adopted jobs go (``JobRunner``)."""

    def enqueue(self, job: Job) -> None: ...

    def holds(self, job_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Recovery:
    requeued: tuple[str, ...] = ()  # queued jobs put back in the queue
    resumed: tuple[str, ...] = ()  # interrupted jobs that will run again
    failed: tuple[str, ...] = ()  # interrupted jobs failed with a notice
    released: int = 0  # reservations returned unbilled
    settled: int = 0  # delivered jobs whose bill the crash left open

    @property
    def empty(self) -> bool:
        return not (self.requeued or self.resumed or self.failed or self.released or self.settled)


async def adopt_orphans(
    jobs: JobStore,
    quotas: Quotas,
    queue: Queue,
    *,
    resume: bool | Callable[[Job], bool],
    notifier: JobNotifier,
    max_runs: int = 3,
    workers: Workers | None = None,
    platforms: Sequence[str] | None = None,
) -> Recovery:
    """Take over the jobs dead workers left (see the module doc); ``workers`` is this
    process's lease (None: no other worker is alive, e.g. a single-process test);
    ``platforms``: those this process serves (None: it takes any platform's at once)."""
    lease_s = workers.lease_s if workers is not None else LEASE_S
    gone = await workers.gone() if workers is not None else []
    live = await workers.live(gone) if workers is not None else set()
    settled = released = 0
    for reservation in await quotas.left_open():
        done = await jobs.get(reservation.job_id or "")
        if done is None or done.owner in live:
            continue  # a live worker (this one too) closes its own
        if done.state is JobState.DELIVERED:
            cost, model = done.cost_usd or 0.0, done.model or ""
            settled += await quotas.settle(reservation, cost_usd=cost, model=model)
        else:
            released += await quotas.release(reservation)
    requeued: list[str] = []
    resumed: list[str] = []
    failed: list[str] = []
    # this process's platforms first; another platform's jobs only once no process of
    # that platform has taken them for FOREIGN_LEASES leases (they fail here, told)
    passes: list[tuple[Sequence[str] | None, float | None]] = [(platforms, None)]
    if platforms is not None:
        passes.append((None, lease_s * FOREIGN_LEASES))
    for only, served_within in passes:
        while True:
            batch = await jobs.adopt(
                lease_s=lease_s, gone=gone, platforms=only, unserved_for=served_within
            )
            for job in batch:
                if queue.holds(job.id):
                    continue
                for reservation in await quotas.held_by(job.id):
                    released += await quotas.release(reservation)
                reason = await _verdict(quotas, job, resume, max_runs)
                if reason is None and job.state is JobState.QUEUED:
                    queue.enqueue(job)
                    requeued.append(job.id)
                elif reason is None and await jobs.requeue(job.id):
                    job = replace(job, state=JobState.QUEUED)
                    queue.enqueue(job)
                    resumed.append(job.id)
                    await _tell(notifier.job_resumed(job), job)
                elif reason is not None:
                    gone_job = replace(job, state=JobState.FAILED, error_code=INTERRUPTED)
                    await _tell(notifier.job_failed(gone_job, reason=reason), job)  # at least once
                    await jobs.mark_failed(job.id, error_code=INTERRUPTED, attempts=job.attempts)
                    failed.append(job.id)
            if len(batch) < ADOPT_BATCH:
                break
    if workers is not None:
        await workers.prune()
    outcome = Recovery(tuple(requeued), tuple(resumed), tuple(failed), released, settled)
    if not outcome.empty:
        log.warning("recovery of dead workers' jobs: %s", outcome)
    return outcome


async def _verdict(
    quotas: Quotas, job: Job, resume: bool | Callable[[Job], bool], max_runs: int
) -> str | None:
    """None to run the job (again), else why not."""
    if await quotas.billed(job.id):
        return REASON_BILLED
    if job.state is JobState.QUEUED:
        return None
    if job.runs >= max_runs:
        return REASON_CRASH_LOOP
    if not (resume(job) if callable(resume) else resume):
        return REASON_NOT_RESUMED
    return None


async def _tell(notice: Awaitable[None], job: Job) -> None:
    """A notifier call under a time limit; its failure is logged, recovery goes on."""
    try:
        async with asyncio.timeout(NOTIFY_TIMEOUT_S):
            await notice
    except Exception:
        log.exception("job %s: the restart notice could not be sent", job.id)
