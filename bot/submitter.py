"""Taking a request and submitting it as a job: ``ImagineService``'s request side.

``take`` resolves what a platform hands over (``bot.intake``: which thread, what a
button means) and submits it; ``submit`` applies the workspace's settings, validates
(references decoded: ``ImageInspector``), writes the job row (idempotency key),
reserves the estimate, queues the job held, has the platform show it (``Placer``)
and releases it to run. Bad input is refused before anything is written or reserved;
a failure after the row is written fails the job and releases what it reserved.
``Submitter`` is a base class: ``bot.service.ImagineService`` builds the parts it
uses (router, ledger, job store, runner) and waits for recovery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.commands import ImagineCommand
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
from bot.jobs import Job, JobStore
from bot.messages import user_error
from bot.ports import ImageInspector, Placer
from bot.quotas import Quotas
from bot.router import Router
from bot.scheduler import JobRunner
from bot.validate import build_request, check_references

log = logging.getLogger("bot.service")  # the name its records had before the split


@dataclass(frozen=True, slots=True)
class Ticket:
    job: Job
    created: bool  # False: a redelivered event found its job; nothing new was queued
    position: int | None  # 1-based place in the queue; None once it is running


class Submitter:
    """``take``, ``submit`` and the checks before them (``_prepare``, which the job
    worker also uses); the attributes are set by ``ImagineService.__init__``."""

    router: Router
    quotas: Quotas
    guilds: GuildSettings | None
    images: ImageInspector
    jobs: JobStore
    runner: JobRunner
    _recovered: asyncio.Event  # set unless ``recover`` runs

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


async def _quietly(step: Awaitable[None]) -> None:
    try:
        await step
    except Exception as exc:
        log.warning("could not withdraw a status message (%s)", type(exc).__name__)
