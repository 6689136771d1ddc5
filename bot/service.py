"""``ImagineService``: the platform-neutral entry point every adapter calls.

Platforms submit jobs; the CLI may also ask for one image directly:

    submit:  validate → job row (idempotency key) → quota.reserve → queue #n
    run_job: load the job → make (router, session) → sink.deliver
             → job delivered → quota.settle        (any failure: job failed,
                                                    reservation released, sink.fail)
    imagine: validate → quota.reserve → make → quota.settle   (no job row)

Bad input is refused before anything is written or reserved. Money is settled
only after the person has the image: a job that was not delivered is not billed.
A job cut off by shutdown stays ``running`` with its reservation open; at the
next start ``recover`` releases the reservation and runs it again (or fails it
with a notice) — never lost, never billed twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from bot.commands import ImagineCommand, Reply, Requester
from bot.domain import Attempt, GenerationRequest
from bot.errors import DeliveryFailed, ImagineError, InputError, ShuttingDown
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
from bot.jobs import Job, JobStore
from bot.making import Maker
from bot.messages import user_error
from bot.ports import JobSink, Placer
from bot.progress import Progress, ProgressPump, ProgressTracker, Stage
from bot.quotas import Quotas, Reservation
from bot.router import Router
from bot.scheduler import JobRunner, Recovery
from bot.sessions import SessionStore, ThreadKey
from bot.validate import build_request

__all__ = ["ImagineCommand", "ImagineService", "Reply", "Requester", "Ticket"]

log = logging.getLogger(__name__)

NO_PLATFORM = "no_platform"  # error code: the job's platform is not running here
DELIVERY_FAILED = "delivery_failed"  # error code: the platform would not take the image
TELL_TIMEOUT_S = 10.0
DELIVER_TIMEOUT_S = 60.0


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
        guilds: GuildSettings | None = None,
        jobs: JobStore | None = None,
        sinks: Mapping[str, JobSink] | None = None,
        concurrency: int = 4,
        per_workspace: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.router, self.quotas, self.sessions, self.guilds = router, quotas, sessions, guilds
        self.maker = Maker(router, sessions)
        self.jobs = jobs or JobStore(sessions.store)
        self.runner = JobRunner(
            self.jobs,
            quotas,
            handler=self.run_job,
            concurrency=concurrency,
            per_tenant=per_workspace,
        )
        self.sinks: dict[str, JobSink] = dict(sinks or {})  # platform -> where its jobs show
        self._recovered = asyncio.Event()
        self._finishing: set[asyncio.Task[None]] = set()  # deliveries a shutdown waits for
        self._recovered.set()  # cleared while ``recover`` runs
        self._clock = clock

    # -- one image, directly (the CLI) -----------------------------------------
    async def imagine(self, cmd: ImagineCommand) -> Reply:
        cmd, request, estimate = await self._prepare(cmd)
        who = cmd.requester
        reservation = await self.quotas.reserve(
            workspace=who.ledger_key, user=who.user, estimate_usd=estimate, job_id=cmd.job_id
        )
        try:
            reply = await self.maker.make(cmd, request)
        except BaseException:
            await self.quotas.release(reservation)
            raise
        await self.quotas.settle(reservation, cost_usd=reply.cost_usd, model=reply.model)
        return reply

    async def _prepare(
        self, cmd: ImagineCommand, request: GenerationRequest | None = None
    ) -> tuple[ImagineCommand, GenerationRequest, float]:
        """The workspace's settings applied, the input validated, the price estimated."""
        if self.guilds is not None:
            cfg = await self.guilds.get(cmd.requester.ledger_key)
            safety = cfg.safety_failover if cmd.safety_failover is None else cmd.safety_failover
            chain = cmd.chain if cmd.chain is not None else cfg.models
            cmd = replace(cmd, chain=chain, safety_failover=safety)
        if request is None:
            request = build_request(
                cmd.prompt, aspect=cmd.aspect, size=cmd.size, references=cmd.references
            )
        candidates = self.router.candidates(request, cmd.chain)
        if not candidates:
            raise InputError("no_capable_model", f"{len(request.references)} reference images")
        return cmd, request, max(r.model.price_for(request.size) for r in candidates)

    # -- jobs (the platforms) --------------------------------------------------
    async def take(self, intake: Intake, placer: Placer) -> Answer:
        """One request from a platform, resolved, validated, reserved, shown (by
        ``placer``, only once accepted) and queued. Refusals are answers, with the
        requester's words; an error of the placer's own (the platform would not
        take the status message) propagates, with nothing queued or reserved."""
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
    ) -> Ticket:
        """Queue ``cmd`` as a job whose images go to ``thread`` (its session's key).

        Raises InputError / QuotaExceeded with nothing queued or reserved. The
        same ``idempotency_key`` again returns the first job (``created=False``).
        ``placer``, if given, shows the job once it is accepted and reserved and
        before it is queued (so a refused request never shows in the channel)."""
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
            if placer is not None:
                placed = await placer.place(job)
                job = await self.jobs.place(
                    job.id,
                    thread=placed.thread or thread,
                    message=placed.message,
                    extra=placed.extra,
                )
            self.runner.enqueue(job)
        except BaseException as exc:  # no job may stay queued that nobody will run
            code = user_error(exc).code if isinstance(exc, ImagineError) else "internal"
            await self.jobs.mark_failed(job.id, error_code=code, attempts=())
            for held in await self.quotas.held_by(job.id):
                await self.quotas.release(held)
            if placer is not None and placed is not None:
                await _quietly(placer.withdraw(placed))
            raise
        return Ticket(job, True, self.runner.position(job.id))

    async def run_job(self, job: Job) -> None:
        """The runner's handler: make the image and hand it to the job's platform."""
        sink = self.sinks.get(job.platform)
        if sink is None:
            await self._fail(job, None, NO_PLATFORM, None)
            return
        pump = ProgressPump(lambda event: sink.progress(job, event))
        reservation: Reservation | None = None
        try:
            cmd, request = await self._command(job)
            cmd, request, estimate = await self._prepare(cmd, request)
            reservation = await self._reservation(job, cmd, estimate)
            reply = await self._made_before(job, cmd, request)
            if reply is None:
                tracker = ProgressTracker(pump.emit)
                reply = await self.maker.make(cmd, request, on_attempt=tracker)
        except Exception as exc:
            await pump.aclose()
            await self._fail(job, reservation, user_error(exc).code, sink, exc)
            return
        finally:
            await pump.aclose()
        reply = replace(reply, elapsed_s=max(0.0, self._clock() - job.created_at))
        # Posting and recording it are one step a shutdown does not cut in two (else the
        # image is posted again at the next start); ``aclose`` waits for it.
        finishing = asyncio.create_task(self._deliver(job, reply, reservation, sink))
        self._finishing.add(finishing)
        finishing.add_done_callback(self._finishing.discard)
        await asyncio.shield(finishing)

    async def _deliver(
        self, job: Job, reply: Reply, reservation: Reservation, sink: JobSink
    ) -> None:
        try:
            async with asyncio.timeout(DELIVER_TIMEOUT_S):
                await sink.deliver(job, reply)
        except Exception as exc:
            log.error("job %s: delivery failed (%s); not billed", job.id, type(exc).__name__)
            failed = DeliveryFailed()
            await self._fail(job, reservation, DELIVERY_FAILED, sink, failed, reply.attempts)
            return
        result = {"version": reply.version, "model": reply.model}
        await self.jobs.mark_delivered(
            job.id,
            attempts=reply.attempts,
            cost_usd=reply.cost_usd,
            model=reply.model,
            result=result,
        )
        await self.quotas.settle(reservation, cost_usd=reply.cost_usd, model=reply.model)

    async def _made_before(
        self, job: Job, cmd: ImagineCommand, request: GenerationRequest
    ) -> Reply | None:
        """A resumed job whose image was saved before the cut: that image, not a new one
        (no second generation, no edit applied twice), billed at its model's price."""
        if job.runs < 2 or cmd.thread is None:
            return None
        found = await self.sessions.made_by_job(cmd.thread, job.id)
        if found is None:
            return None
        data, mime, version = found
        made_by = self.router.resolve(version.model)
        spec = next((r.model for r in self.router.routes if r.model.id == made_by), None)
        cost = spec.price_for(request.size) if spec is not None else 0.0
        log.info("job %s: resumed after its image was made; delivering v%s", job.id, version.n)
        return Reply(data, mime, version.model, False, cost, (), version=version.n)

    async def _command(self, job: Job) -> tuple[ImagineCommand, GenerationRequest]:
        p = job.payload
        requester = Requester(job.platform, job.workspace, job.user)
        thread = ThreadKey(job.platform, job.workspace, job.channel, job.thread)
        key = thread if job.thread else None
        cmd = ImagineCommand(
            requester, p["prompt"], p.get("aspect"), p.get("size"), thread=key, job_id=job.id
        )
        request = build_request(cmd.prompt, aspect=cmd.aspect, size=cmd.size)
        return cmd, replace(request, references=await self.jobs.load_references(job))

    async def _reservation(self, job: Job, cmd: ImagineCommand, estimate: float) -> Reservation:
        """The one made at submit; after a restart (released by recovery), a new one."""
        held = await self.quotas.held_by(job.id)
        for extra in held[1:]:
            await self.quotas.release(extra)
        if held:
            return held[0]
        who = cmd.requester
        return await self.quotas.reserve(
            workspace=who.ledger_key,
            user=who.user,
            estimate_usd=estimate,
            job_id=job.id,
        )

    async def _fail(
        self,
        job: Job,
        reservation: Reservation | None,
        code: str,
        sink: JobSink | None,
        exc: BaseException | None = None,
        attempts: tuple[Attempt, ...] = (),
    ) -> None:
        attempts = tuple(getattr(exc, "attempts", attempts))
        if exc is not None and not isinstance(exc, ImagineError):
            log.error("job %s failed", job.id, exc_info=exc)
        await self.jobs.mark_failed(job.id, error_code=code, attempts=attempts)
        for held in [reservation] if reservation else await self.quotas.held_by(job.id):
            await self.quotas.release(held)
        if sink is not None and exc is not None:
            try:
                async with asyncio.timeout(TELL_TIMEOUT_S):
                    await sink.progress(job, Progress(Stage.FAILED))
                    await sink.fail(job, user_error(exc))
            except Exception as err:
                log.warning("job %s: failure notice not shown (%s)", job.id, type(err).__name__)

    # -- lifecycle -------------------------------------------------------------
    async def start(self, *, resume: bool = True) -> Recovery:
        """Take over what the last process left, then start the workers."""
        recovery = await self.recover(resume=resume)
        await self.runner.start()
        return recovery

    async def recover(self, *, resume: bool = True) -> Recovery:
        """Jobs a crash or shutdown left running run again (``resume``; only for
        platforms that are up here) or fail with a notice in their thread."""
        self._recovered.clear()
        try:
            return await self.runner.recover(
                resume=lambda job: resume and job.platform in self.sinks, notifier=_Notifier(self)
            )
        finally:
            self._recovered.set()

    async def aclose(self, *, grace_s: float = 0.0) -> None:
        """Stop the workers (see ``JobRunner.aclose``), then let deliveries already
        under way finish recording (up to their own time limit)."""
        await self.runner.aclose(grace_s=grace_s)
        if self._finishing:
            await asyncio.wait(self._finishing, timeout=DELIVER_TIMEOUT_S + TELL_TIMEOUT_S)


class _Notifier:
    """The runner's restart notices, sent to each job's platform."""

    def __init__(self, service: ImagineService) -> None:
        self._sinks = service.sinks

    async def job_resumed(self, job: Job) -> None:
        if (sink := self._sinks.get(job.platform)) is not None:
            await sink.job_resumed(job)

    async def job_failed(self, job: Job, *, reason: str) -> None:
        if (sink := self._sinks.get(job.platform)) is not None:
            await sink.job_failed(job, reason=reason)


async def _quietly(step: Awaitable[None]) -> None:
    try:
        await step
    except Exception as exc:
        log.warning("could not withdraw a status message (%s)", type(exc).__name__)
