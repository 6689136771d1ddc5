"""``ImagineService``: the platform-neutral entry point every adapter calls.

    validate → quota.reserve → session.load → router.generate → session.save
             → quota.settle → Reply          (release on any failure: not billed)

Edits in a thread continue its Gemini session (history with thought
signatures). When no multi-turn model is up, the edit goes to the first
edit-capable backup with the thread's latest image as input; that image then
rides into the Gemini session as a user-supplied image once Gemini is back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.domain import Attempt, GenerationRequest, ImageInput, ImageResult
from bot.errors import AllModelsFailed, InputError
from bot.guild_settings import GuildSettings
from bot.messages import CONTEXT_TRIMMED, notices
from bot.quotas import Quotas, Reservation
from bot.router import Router
from bot.sessions import SessionStore, ThreadKey
from bot.validate import build_request


@dataclass(frozen=True, slots=True)
class Requester:
    platform: str
    workspace: str
    user: str

    @property
    def ledger_key(self) -> str:
        return f"{self.platform}:{self.workspace}"


@dataclass(frozen=True, slots=True)
class ImagineCommand:
    requester: Requester
    prompt: str
    aspect: str | None = None
    size: str | None = None
    references: tuple[tuple[str, bytes], ...] = ()  # (file name, bytes) as uploaded
    thread: ThreadKey | None = None  # continue (or start) this thread's session
    job_id: str | None = None
    chain: Sequence[str] | None = None  # None: the workspace's chain, else the installation's
    safety_failover: bool | None = None  # None: the workspace's setting


@dataclass(frozen=True, slots=True)
class Reply:
    image: bytes
    mime_type: str
    model: str
    fallback: bool
    cost_usd: float
    attempts: tuple[Attempt, ...]
    notices: list[str] = field(default_factory=list)
    version: int | None = None


class ImagineService:
    def __init__(
        self,
        *,
        router: Router,
        quotas: Quotas,
        sessions: SessionStore,
        guilds: GuildSettings | None = None,
    ) -> None:
        self.router, self.quotas, self.sessions, self.guilds = router, quotas, sessions, guilds

    async def imagine(self, cmd: ImagineCommand) -> Reply:
        if self.guilds is not None:
            cfg = await self.guilds.get(cmd.requester.ledger_key)
            cmd = replace(
                cmd,
                chain=cmd.chain if cmd.chain is not None else cfg.models,
                safety_failover=(
                    cfg.safety_failover if cmd.safety_failover is None else cmd.safety_failover
                ),
            )
        request = build_request(
            cmd.prompt, aspect=cmd.aspect, size=cmd.size, references=cmd.references
        )
        candidates = self.router.candidates(request, cmd.chain)
        if not candidates:
            raise InputError("no_capable_model", f"{len(request.references)} reference images")
        estimate = max(r.model.price_for(request.size) for r in candidates)
        who = cmd.requester
        reservation = await self.quotas.reserve(
            workspace=who.ledger_key, user=who.user, estimate_usd=estimate, job_id=cmd.job_id
        )
        try:
            if cmd.thread is None:
                result = await self.router.generate(
                    request, chain=cmd.chain, failover_on_safety=cmd.safety_failover
                )
                reply = _reply(result)
            else:
                async with self.sessions.lock(cmd.thread):
                    reply = await self._in_thread(cmd, request, cmd.thread)
        except BaseException:
            await self.quotas.release(reservation)
            raise
        await self._settle(reservation, reply)
        return reply

    async def _in_thread(
        self, cmd: ImagineCommand, fresh: GenerationRequest, key: ThreadKey
    ) -> Reply:
        session = await self.sessions.load(key)
        earlier: tuple[Attempt, ...] = ()
        if session is None:
            result = await self.router.generate(
                fresh, chain=cmd.chain, failover_on_safety=cmd.safety_failover
            )
        else:
            request = session.next_request(
                prompt=fresh.prompt,
                aspect_ratio=fresh.aspect_ratio or session.config.get("aspect_ratio"),
                size=fresh.size or session.config.get("size"),
                references=fresh.references,
            )
            try:
                result = await self.router.generate(
                    request,
                    chain=self._prefer(cmd, session.model),
                    failover_on_safety=cmd.safety_failover,
                )
            except (AllModelsFailed, InputError) as exc:
                latest = await self.sessions.latest_image(key)
                if not request.history or latest is None:
                    raise
                # No multi-turn model is up: edit the latest image on a backup instead.
                earlier = getattr(exc, "attempts", ())
                data, mime, _ = latest
                edit = GenerationRequest(
                    prompt=fresh.prompt,
                    aspect_ratio=request.aspect_ratio,
                    size=request.size,
                    references=(ImageInput(data, mime), *fresh.references),
                )
                result = await self.router.generate(
                    edit, chain=cmd.chain, failover_on_safety=cmd.safety_failover
                )
        config = {
            k: v for k, v in (("aspect_ratio", fresh.aspect_ratio), ("size", fresh.size)) if v
        }
        image = (result.image.data, result.image.mime_type)
        if result.image.turns:
            saved = await self.sessions.append(
                key,
                model=result.model,
                config=config,
                turns=result.image.turns,
                image=image,
                job_id=cmd.job_id,
            )
        else:
            saved = await self.sessions.add_foreign_image(
                key, model=result.model, image=image, prompt=fresh.prompt, job_id=cmd.job_id
            )
        reply = _reply(result, version=saved.version, earlier=earlier)
        if saved.trimmed_now:
            reply.notices.append(CONTEXT_TRIMMED)
        return reply

    def _prefer(self, cmd: ImagineCommand, model: str | None) -> Sequence[str] | None:
        """The thread's own Gemini model first, then the usual chain."""
        if model is None:
            return cmd.chain
        chain = cmd.chain if cmd.chain is not None else [r.model.id for r in self.router.routes]
        return [model, *dict.fromkeys(m for m in chain if m != model)]

    async def _settle(self, reservation: Reservation, reply: Reply) -> None:
        await self.quotas.settle(reservation, cost_usd=reply.cost_usd, model=reply.model)


def _reply(
    result: ImageResult, *, version: int | None = None, earlier: tuple[Attempt, ...] = ()
) -> Reply:
    return Reply(
        image=result.image.data,
        mime_type=result.image.mime_type,
        model=result.model,
        fallback=result.fallback,
        cost_usd=result.cost_usd,
        attempts=earlier + result.attempts,
        notices=notices(result),
        version=version,
    )
