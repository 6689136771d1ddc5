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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from bot.commands import ImagineCommand, Reply, Requester
from bot.domain import GenerationRequest
from bot.errors import ImagineError, InputError, ShuttingDown
from bot.guild_settings import GuildSettings
from bot.intake import (
    AlreadyQueued,
    Answer,
    Intake,
    NotForUs,
    Placed,
    Queued,
    Refused,
    resolve,
)
from bot.job_work import JobWorker, Notifier
from bot.jobs import Job, JobStore
from bot.leases import LEASE_S, Workers
from bot.making import Maker
from bot.messages import user_error
from bot.meter import Meter
from bot.ports import ImageInspector, JobSink, Placer
from bot.quotas import Quotas
from bot.router import Router
from bot.scheduler import JobRunner, Load, Recovery
from bot.sessions import SessionStore
from bot.tasks import Every
from bot.validate import build_request, check_references

__all__ = ["ImagineCommand", "ImagineService", "Reply", "Requester", "Ticket"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ticket:
    job: Job
    created: bool  # False: a redelivered event found its job; nothing new was queued
    position: int | None  # 1-based place in the queue; None once it is running


class ImagineService:
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

    async def _prepare(
        self, cmd: ImagineCommand, request: GenerationRequest | None = None
    ) -> tuple[ImagineCommand, GenerationRequest, float]:
        """The workspace's settings applied, the input validated (the prompt as it will be
        shown and sent, every reference decoded), the price estimated."""
        if self.guilds is not None:
            cfg = await self.guilds.get(cmd.requester.ledger_key)
            safety = cfg.safety_failover if cmd.safety_failover is None else cmd.safety_failover
            chain = cmd.chain if cmd.chain is not None else cfg.models
            cmd = replace(cmd, chain=chain, safety_failover=safety)
        if request is None:
            request = build_request(
                cmd.prompt, aspect=cmd.aspect, size=cmd.size, references=cmd.references
            )
            names = [name for name, _ in cmd.references]
            request = await check_references(request, names, self.images)
            cmd = replace(cmd, prompt=request.prompt)  # what the job shows is what is sent
        candidates = self.router.candidates(request, cmd.chain)
        if not candidates:
            raise InputError("no_capable_model", f"{len(request.references)} reference images")
        return cmd, request, max(r.model.price_for(request.size) for r in candidates)

    # -- jobs (every platform) --------------------------------------------------
    async def take(
        self,
        intake: Intake,
        placer: Placer,
        *,
        early: Callable[[Queued], None] | None = None,
    ) -> Answer:
        """One request from a platform, resolved, validated, reserved, shown (by
        ``placer``, only once accepted) and queued. Refusals are answers, with the
        requester's words; an error of the placer's own (the platform would not
        take the status message) propagates, with nothing queued or reserved.
        ``early`` is told the job is queued as soon as it is, before it is shown (the
        answer a platform that must reply quickly can give at once); the return value
        is still the whole outcome, which may then be the placer's error."""
        try:
            found = await resolve(intake, self.jobs)
            if found is None:
                return NotForUs()
            ticket = await self.submit(
                found.cmd,
                channel=found.channel,
                thread=found.thread,
                idempotency_key=intake.key,
                kind=found.kind,
                placer=placer,
                accepted=None if early is None else lambda job, at: early(Queued(job, at)),
            )
        except ImagineError as exc:
            said = user_error(exc)
            return Refused(said.message, said.code)
        if not ticket.created:
            return AlreadyQueued(ticket.job)
        return Queued(ticket.job, ticket.position)

    async def job(self, job_id: str) -> Job | None:
        """A job's record (e.g. the notes its platform kept on it)."""
        return await self.jobs.get(job_id)

    def load(self) -> Load:
        """Jobs waiting and running in this process now (metrics)."""
        return self.runner.load()

    def position(self, job_id: str) -> int | None:
        """A queued job's 1-based place in the queue; None once it runs (or is done)."""
        return self.runner.position(job_id)

    async def submit(
        self,
        cmd: ImagineCommand,
        *,
        channel: str,
        thread: str,
        idempotency_key: str | None,
        kind: str = "imagine",
        placer: Placer | None = None,
        accepted: Callable[[Job, int | None], None] | None = None,
    ) -> Ticket:
        """Queue ``cmd`` as a job whose images go to ``thread`` (its session's key).

        Raises InputError / QuotaExceeded with nothing queued or reserved. The
        same ``idempotency_key`` again returns the first job (``created=False``).
        ``placer``, if given, shows the job once it is accepted and reserved, while it
        holds its place in the queue without running (so a refused request never shows
        in the channel); ``accepted(job, position)`` is called just before, so that the
        platform can answer the person without waiting for the job to be shown."""
        cmd, request, estimate = await self._prepare(cmd)
        who = cmd.requester
        if self.runner.closed:
            raise ShuttingDown()
        await self._recovered.wait()  # a restart's leftovers are sorted out first
        job, created = await self.jobs.submit(
            platform=who.platform,
            workspace=who.workspace,
            channel=channel,
            thread=thread,
            user=who.user,
            kind=kind,
            payload=cmd.payload(),
            idempotency_key=idempotency_key,
            references=request.references,
        )
        if not created:
            return Ticket(job, False, self.runner.position(job.id))
        placed: Placed | None = None
        try:
            await self.quotas.reserve(
                workspace=who.ledger_key,
                user=who.user,
                estimate_usd=estimate,
                job_id=job.id,
            )
            self.runner.enqueue(job, held=placer is not None)
            if placer is not None:
                if accepted is not None:
                    accepted(job, self.runner.position(job.id))
                placed = await placer.place(job)
                job = await self.jobs.place(
                    job.id,
                    thread=placed.thread or thread,
                    message=placed.message,
                    extra=placed.extra,
                )
                self.runner.release(job)
        except BaseException as exc:  # no job may stay queued that nobody will run
            self.runner.drop(job.id)
            code = user_error(exc).code if isinstance(exc, ImagineError) else "internal"
            await self.jobs.mark_failed(job.id, error_code=code, attempts=())
            for held in await self.quotas.held_by(job.id):
                await self.quotas.release(held)
            if placer is not None and placed is not None:
                await _quietly(placer.withdraw(placed))
            raise
        return Ticket(job, True, self.runner.position(job.id))

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


async def _quietly(step: Awaitable[None]) -> None:
    try:
        await step
    except Exception as exc:
        log.warning("could not withdraw a status message (%s)", type(exc).__name__)
