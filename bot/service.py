"""``ImagineService``: the platform-neutral entry point every adapter calls.

Every platform (Slack, Discord, the CLI) hands it what people asked for:

    take:    resolve the intake (bot.intake: which thread, what a button means)
             → submit
    submit:  validate (references decoded: ``ImageInspector``) → job row (idempotency key)
             → quota.reserve → queue #n, held (``early``: the answer can go now)
             → placer.place (the platform shows the job) → released to run
    run:     the job runner → bot.job_work.JobWorker: make → sink.deliver
             → job delivered → quota.settle        (any failure: job failed,
                                                    reservation released, sink.fail)

Bad input is refused before anything is written or reserved. Money is settled
only after the person has the image: a job that was not delivered is not billed.
A job cut off by shutdown stays ``running`` with its reservation open; at the
next start ``recover`` releases the reservation and runs it again (or fails it
with a notice) — never lost, never billed twice. Several processes may share the
database: each is a worker with a lease (``bot.leases``) and runs the jobs it owns;
every ``lease_s / 2`` each adopts what dead workers left (``bot.adoption``).

This module builds the parts and runs the lifecycle (start, recover, the periodic
adoption, aclose); ``take`` and ``submit`` are ``bot.submitter``'s (a base class).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from bot.commands import ImagineCommand, Reply, Requester
from bot.guild_settings import GuildSettings
from bot.job_work import JobWorker, Notifier
from bot.jobs import Job, JobStore
from bot.leases import LEASE_S, Workers
from bot.making import Maker
from bot.meter import Meter
from bot.ports import ImageInspector, JobSink
from bot.quotas import Quotas
from bot.router import Router
from bot.scheduler import JobRunner, Load, Recovery
from bot.sessions import SessionStore
from bot.submitter import Submitter, Ticket
from bot.tasks import Every

__all__ = ["ImagineCommand", "ImagineService", "Reply", "Requester", "Ticket"]


class ImagineService(Submitter):
    def __init__(
        self,
        *,
        router: Router,
        quotas: Quotas,
        sessions: SessionStore,
        images: ImageInspector,
        guilds: GuildSettings | None = None,
        jobs: JobStore | None = None,
        sinks: Mapping[str, JobSink] | None = None,
        concurrency: int = 4,
        per_workspace: int = 0,
        clock: Callable[[], float] = time.time,
        meter: Meter | None = None,
        lease_s: float = LEASE_S,
    ) -> None:
        """``images`` decodes each reference before anything is reserved; ``meter``: told
        of job state changes (by the job store made here) and queue waits; the router and
        the ledger are given their own. ``lease_s``: how long this process's jobs stay
        its own after its heartbeat stops (``IMAGINE_LEASE_S``)."""
        self.router, self.quotas, self.sessions, self.guilds = router, quotas, sessions, guilds
        self.images = images
        self.maker = Maker(router, sessions)
        self.jobs = jobs or JobStore(sessions.store, meter=meter)
        self.sinks: dict[str, JobSink] = dict(sinks or {})  # platform -> where its jobs show
        self.worker = JobWorker(
            jobs=self.jobs,
            quotas=quotas,
            sessions=sessions,
            router=router,
            maker=self.maker,
            sinks=self.sinks,
            prepare=self._prepare,
            clock=clock,
        )
        self.runner = JobRunner(
            self.jobs,
            quotas,
            handler=self.worker.run,
            concurrency=concurrency,
            per_tenant=per_workspace,
            meter=meter,
        )
        self.workers = Workers(
            sessions.store, worker=self.jobs.worker, lease_s=lease_s, platforms=list(self.sinks)
        )
        self._resume = True  # the policy ``start`` was given, for the periodic passes
        self._adopting = Every(lease_s / 2, self._adopt, name="adopt-orphans")
        self._recovered = asyncio.Event()
        self._recovered.set()  # cleared while ``recover`` runs

    # -- jobs (every platform; ``take`` and ``submit`` are Submitter's) ----------
    async def job(self, job_id: str) -> Job | None:
        """A job's record (e.g. the notes its platform kept on it)."""
        return await self.jobs.get(job_id)

    def load(self) -> Load:
        """Jobs waiting and running in this process now (metrics)."""
        return self.runner.load()

    def position(self, job_id: str) -> int | None:
        """A queued job's 1-based place in the queue; None once it runs (or is done)."""
        return self.runner.position(job_id)

    # -- lifecycle -------------------------------------------------------------
    async def start(self, *, resume: bool = True, recover: bool = True) -> Recovery:
        """Register this process (its lease), take over what dead processes left, start
        the workers, and go on adopting dead processes' jobs every ``lease_s / 2``. Not
        with ``recover=False`` (the CLI, which may share the database with a running
        bot): it registers and runs only its own jobs."""
        await self.workers.start()
        if not recover:
            await self.runner.start()
            return Recovery()
        recovery = await self.recover(resume=resume)
        await self.runner.start()
        self._resume = resume
        self._adopting.start()
        return recovery

    async def join(self) -> None:
        """Wait until no job is waiting or running here (each one delivered or failed)."""
        await self.runner.join()

    async def recover(self, *, resume: bool = True) -> Recovery:
        """Jobs a crash or shutdown left running run again (``resume``; only for
        platforms that are up here) or fail with a notice in their thread."""
        self._recovered.clear()
        try:
            await self.workers.start()
            return await self._take_over(resume)
        finally:
            self._recovered.set()

    async def _take_over(self, resume: bool) -> Recovery:
        return await self.runner.recover(
            resume=lambda job: resume and job.platform in self.sinks,
            notifier=Notifier(self.sinks),
            workers=self.workers,
            platforms=tuple(self.sinks) or None,
        )

    async def _adopt(self) -> None:
        """The periodic pass: another process may have died since the last one."""
        if not self.runner.closed:
            await self._take_over(self._resume)

    async def aclose(self, *, grace_s: float = 0.0) -> None:
        """Stop the workers (see ``JobRunner.aclose``), then let deliveries already
        under way finish recording (up to their own time limit); then end this process's
        lease, so another adopts what it leaves at once."""
        await self._adopting.aclose()
        await self.runner.aclose(grace_s=grace_s)
        await self.worker.aclose()
        await self.workers.aclose()
