"""Running one job (the job runner's handler): make the image, hand it to the job's
platform, then settle the quota — or fail it, release the reservation and say why.

    load the job → prepare (the workspace's settings) → its reservation
    → an image saved before a restart cut the run, or make a new one (router, session)
    → job delivering (the intent, recorded) → sink.deliver → job delivered → quota.settle
    (any failure: job failed, reservation released, sink.fail)

Money is settled only after the person has the image: a job that was not
delivered is not billed. Posting and recording a delivery are one step a
shutdown does not cut in two (``aclose`` waits for it); a crash can, so the
intent to post is recorded first, and a resumed run whose job has that record
asks the platform (``sink.already_delivered``) before posting again: an image
already in the thread is recorded and billed, not posted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from bot.commands import ImagineCommand, Reply, Requester
from bot.domain import Attempt, GenerationRequest
from bot.errors import DeliveryFailed, ImagineError
from bot.jobs import Job, JobStore
from bot.making import Maker
from bot.messages import user_error
from bot.ports import JobSink
from bot.progress import Progress, ProgressPump, ProgressTracker, Stage
from bot.quotas import Quotas, Reservation
from bot.router import Router
from bot.sessions import SessionStore, ThreadKey
from bot.validate import build_request

log = logging.getLogger(__name__)

NO_PLATFORM = "no_platform"  # error code: the job's platform is not running here
DELIVERY_FAILED = "delivery_failed"  # error code: the platform would not take the image
TELL_TIMEOUT_S = 10.0
DELIVER_TIMEOUT_S = 60.0

Prepare = Callable[
    [ImagineCommand, GenerationRequest],
    Awaitable[tuple[ImagineCommand, GenerationRequest, float]],
]


class JobWorker:
    def __init__(
        self,
        *,
        jobs: JobStore,
        quotas: Quotas,
        sessions: SessionStore,
        router: Router,
        maker: Maker,
        sinks: Mapping[str, JobSink],
        prepare: Prepare,
        clock: Callable[[], float],
    ) -> None:
        self.jobs, self.quotas, self.sessions, self.router = jobs, quotas, sessions, router
        self.maker, self.sinks, self._prepare, self._clock = maker, sinks, prepare, clock
        self._finishing: set[asyncio.Task[None]] = set()  # deliveries a shutdown waits for

    async def run(self, job: Job) -> None:
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
                if job.delivering is not None and await sink.already_delivered(job, reply):
                    log.info("job %s: its image was posted before the restart", job.id)
                else:
                    version, model = reply.version, reply.model
                    if not await self.jobs.mark_delivering(job.id, version=version, model=model):
                        log.warning("job %s: adopted by another process; not posted here", job.id)
                        return  # its adopter posts it, and bills it (this reservation is closed)
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

    async def aclose(self) -> None:
        """Let deliveries already under way finish recording (up to their own limit)."""
        if self._finishing:
            await asyncio.wait(self._finishing, timeout=DELIVER_TIMEOUT_S + TELL_TIMEOUT_S)


class Notifier:
    """The runner's restart notices, sent to each job's platform."""

    def __init__(self, sinks: Mapping[str, JobSink]) -> None:
        self._sinks = sinks

    async def job_resumed(self, job: Job) -> None:
        """Said only of a job that must be made again: one whose image was made and was
        being posted (``job.delivering``) may be in the thread already, else is about to."""
        if job.delivering is not None:
            log.info("job %s: resumed while delivering; no restart notice", job.id)
            return
        if (sink := self._sinks.get(job.platform)) is not None:
            await sink.job_resumed(job)

    async def job_failed(self, job: Job, *, reason: str) -> None:
        if (sink := self._sinks.get(job.platform)) is not None:
            await sink.job_failed(job, reason=reason)
