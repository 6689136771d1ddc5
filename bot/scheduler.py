"""Run durable jobs fairly, and pick them up again after a restart.

``JobRunner`` keeps an in-process queue per tenant (``"platform:workspace"``) and
dispatches round-robin across tenants, so one busy guild cannot starve the
others; ``concurrency`` workers run an injected ``handler(job)``, at most
``per_tenant`` of them for one tenant (0: no cap). The handler
does the work and records the outcome (``JobStore.mark_delivered`` /
``mark_failed``); if it raises, or returns leaving the job running, the runner
marks the job failed with error code ``"internal"`` and logs. The workers are
tasks the runner owns: ``aclose`` cancels and awaits them. A job cut off by
shutdown stays ``running`` in the database, one still waiting stays ``queued``.

``recover`` (at start-up, before or after ``start``, and then every little while)
adopts the jobs of dead processes (``bot.adoption``): queued ones go in the queue, an
interrupted running one is resumed or failed with a notice, never billed twice. Several
processes may share one database: each runs only the jobs it owns (``bot.leases``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple

from bot.adoption import (
    INTERRUPTED,
    REASON_BILLED,
    REASON_CRASH_LOOP,
    REASON_NOT_RESUMED,
    JobNotifier,
    Recovery,
    adopt_orphans,
)
from bot.jobs import Job, JobState, JobStore
from bot.leases import Workers
from bot.meter import Meter, SafeMeter
from bot.ports import Clock
from bot.quotas import Quotas

__all__ = [
    "INTERNAL", "INTERRUPTED", "REASON_BILLED", "REASON_CRASH_LOOP", "REASON_NOT_RESUMED",
    "Handler", "JobNotifier", "JobRunner", "Load", "Recovery",
]  # fmt: skip

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]

INTERNAL = "internal"  # error code: the handler raised or did not finish the job


class Load(NamedTuple):
    """Jobs in this process now."""

    queued: int  # waiting for a worker
    running: int


class JobRunner:
    def __init__(
        self,
        jobs: JobStore,
        quotas: Quotas,
        *,
        handler: Handler,
        concurrency: int = 4,
        per_tenant: int = 0,
        meter: Meter | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if concurrency < 1 or per_tenant < 0:
            raise ValueError("concurrency must be at least 1 and per_tenant 0 (no cap) or more")
        self._jobs, self._quotas, self._handler = jobs, quotas, handler
        self._concurrency = concurrency
        self._per_tenant = per_tenant  # most jobs of one tenant running at once (0: no cap)
        self._queues: dict[str, deque[Job]] = {}  # tenant -> its waiting jobs, oldest first
        self._turns: deque[str] = deque()  # tenants with waiting jobs, next to serve first
        self._waiting: dict[str, float] = {}  # job id -> when it was queued here
        self._held: set[str] = set()  # waiting jobs not to run yet (``enqueue(held=True)``)
        self._meter, self._clock = SafeMeter(meter), clock
        self._active: dict[str, Job] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._workers: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- queue -----------------------------------------------------------------
    def enqueue(self, job: Job, *, held: bool = False) -> None:
        """Queue a job that is ``queued`` in the database (again: no-op). Jobs are
        created by ``JobStore.submit``; ``ImagineService.submit`` reserves, then queues.
        ``held``: it takes its place in the queue (and counts in ``position``) but does
        not run until ``release`` — its platform is still showing it — or ``drop``."""
        if self._closing:
            raise RuntimeError("the job runner is closed")
        if job.state is not JobState.QUEUED:
            raise ValueError(f"job {job.id} is {job.state}, not queued")
        if job.id in self._active or job.id in self._waiting:
            return
        self._waiting[job.id] = self._clock()
        if job.tenant not in self._queues:
            self._queues[job.tenant] = deque()
            self._turns.append(job.tenant)
        self._queues[job.tenant].append(job)
        if held:
            self._held.add(job.id)
        self._idle.clear()
        self._wake.set()

    def release(self, job: Job) -> None:
        """A held job may run now; ``job`` is its record as placed (thread, message)."""
        self._held.discard(job.id)
        queue = self._queues.get(job.tenant, deque())
        for i, queued in enumerate(queue):
            if queued.id == job.id:
                queue[i] = job
        self._wake.set()

    def drop(self, job_id: str) -> None:
        """Take a held job out of the queue: showing it failed, it will not run."""
        self._held.discard(job_id)
        if self._waiting.pop(job_id, None) is None:
            return
        for tenant, queue in list(self._queues.items()):
            for job in [j for j in queue if j.id == job_id]:
                queue.remove(job)
            if not queue:
                del self._queues[tenant]
                self._turns.remove(tenant)
        if not self._turns and not self._active:
            self._idle.set()

    def waiting(self) -> list[Job]:
        """Waiting jobs in the order they will be dispatched (if no others arrive)."""
        queues = [self._queues[tenant] for tenant in self._turns]
        depth = max((len(q) for q in queues), default=0)
        return [q[i] for i in range(depth) for q in queues if i < len(q)]

    def load(self) -> Load:
        """How many jobs wait and run here now."""
        return Load(len(self._waiting), len(self._active))

    def position(self, job_id: str) -> int | None:
        """1-based place among the waiting jobs; None if not waiting (running or done)."""
        for n, job in enumerate(self.waiting(), start=1):
            if job.id == job_id:
                return n
        return None

    @property
    def closed(self) -> bool:
        return self._closing

    @property
    def running(self) -> list[Job]:
        return list(self._active.values())

    def _ready(self) -> tuple[str, Job] | None:
        """The next job to run: from the first tenant in turn that is under its running
        cap, its oldest job whose thread is not busy (edits to one thread run one at a
        time anyway; waiting on it must not hold a worker another thread could use)."""
        busy = {_thread(job) for job in self._active.values()} - {None}
        for tenant in self._turns:
            if self._per_tenant and self._running_of(tenant) >= self._per_tenant:
                continue
            for job in self._queues[tenant]:
                if job.id not in self._held and _thread(job) not in busy:
                    return tenant, job
        return None

    def _running_of(self, tenant: str) -> int:
        return sum(1 for job in self._active.values() if job.tenant == tenant)

    def _take(self, tenant: str, job: Job) -> Job:
        self._turns.remove(tenant)
        queue = self._queues[tenant]
        queue.remove(job)
        queued_at = self._waiting.pop(job.id, None)
        if queued_at is not None:
            self._meter.queue_wait(seconds=max(0.0, self._clock() - queued_at))
        if queue:
            self._turns.append(tenant)
        else:
            del self._queues[tenant]
        return job

    # -- workers ---------------------------------------------------------------
    async def start(self) -> None:
        if self._closing:
            raise RuntimeError("the job runner is closed")
        while len(self._workers) < self._concurrency:
            n = len(self._workers)
            self._workers.add(asyncio.create_task(self._work(), name=f"job-worker-{n}"))

    async def join(self) -> None:
        """Wait until no job is waiting or running (or the runner is closed)."""
        await self._idle.wait()

    async def aclose(self, *, grace_s: float = 0.0) -> None:
        """Stop: take no new job, give running ones ``grace_s`` to finish, cancel the rest
        (they stay ``running`` in the database; waiting ones stay ``queued``)."""
        self._closing = True
        self._wake.set()
        workers, self._workers = self._workers, set()
        if workers and grace_s > 0:
            await asyncio.wait(workers, timeout=grace_s)
        for task in workers:
            task.cancel()
        for outcome in await asyncio.gather(*workers, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("job worker ended with an error", exc_info=outcome)
        self._idle.set()  # nobody waits in join() for a runner that will not run

    async def _work(self) -> None:
        while True:
            while (ready := self._ready()) is None and not self._closing:
                self._wake.clear()
                await self._wake.wait()
            if self._closing or ready is None:
                return
            job = self._take(*ready)
            self._active[job.id] = job
            try:
                await self._run(job)
            finally:
                del self._active[job.id]
                self._wake.set()  # a tenant at its cap may be ready now
                if not self._turns and not self._active:
                    self._idle.set()

    async def _run(self, job: Job) -> None:
        try:
            if not await self._jobs.mark_running(job.id):
                log.info("job %s is no longer queued here (done, or adopted elsewhere)", job.id)
                return
            job = await self._jobs.get(job.id) or job
        except Exception:
            log.exception("job %s could not be started; it stays queued until a restart", job.id)
            return
        try:
            await self._handler(job)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # shutdown: the job stays running and is recovered on the next start
            log.error("job %s: the handler raised a stray CancelledError", job.id)
        except Exception:
            log.exception("job %s: the handler failed", job.id)
        else:
            if await self._fail_internal(job):
                log.error("job %s: the handler returned without delivering or failing it", job.id)
            return
        await self._fail_internal(job)

    async def _fail_internal(self, job: Job) -> bool:
        try:
            return await self._jobs.mark_failed(job.id, error_code=INTERNAL, attempts=())
        except Exception:
            log.exception("job %s: could not be marked failed", job.id)
            return False

    # -- restart recovery ------------------------------------------------------
    def holds(self, job_id: str) -> bool:
        """True if the job waits or runs here."""
        return job_id in self._waiting or job_id in self._active

    async def recover(
        self,
        *,
        resume: bool | Callable[[Job], bool],
        notifier: JobNotifier,
        max_runs: int = 3,
        workers: Workers | None = None,
        platforms: Sequence[str] | None = None,
    ) -> Recovery:
        """Adopt the jobs dead workers left unfinished and queue them here (see
        ``bot.adoption``; ``workers``: this process's lease, None: no other is alive)."""
        return await adopt_orphans(
            self._jobs,
            self._quotas,
            self,
            resume=resume,
            notifier=notifier,
            max_runs=max_runs,
            workers=workers,
            platforms=platforms,
        )


def _thread(job: Job) -> tuple[str, str, str, str] | None:
    """The conversation a job continues (None: it starts none)."""
    return (job.platform, job.workspace, job.channel, job.thread) if job.thread else None
