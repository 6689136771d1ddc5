"""Making one image for a command: alone, or as the next turn of a thread.

Edits in a thread continue its Gemini session (history with thought
signatures). When no multi-turn model is up, the edit goes to the first
edit-capable backup with the thread's latest image as input; that image then
rides into the Gemini session as a user-supplied image once Gemini is back.
No money is handled here (see ``bot.service``).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands import ImagineCommand, Reply, reply_from
from bot.domain import Attempt, GenerationRequest, ImageInput
from bot.errors import AllModelsFailed, InputError
from bot.messages import CONTEXT_TRIMMED
from bot.ports import AttemptStarted
from bot.router import Router
from bot.sessions import SessionStore, ThreadKey


class Maker:
    def __init__(self, router: Router, sessions: SessionStore) -> None:
        self.router, self.sessions = router, sessions

    async def make(
        self,
        cmd: ImagineCommand,
        request: GenerationRequest,
        *,
        on_attempt: AttemptStarted | None = None,
    ) -> Reply:
        if cmd.thread is None:
            result = await self.router.generate(
                request,
                chain=cmd.chain,
                failover_on_safety=cmd.safety_failover,
                on_attempt=on_attempt,
            )
            return reply_from(result)
        async with self.sessions.lock(cmd.thread):
            return await self._in_thread(cmd, request, cmd.thread, on_attempt)

    async def _in_thread(
        self,
        cmd: ImagineCommand,
        fresh: GenerationRequest,
        key: ThreadKey,
        on_attempt: AttemptStarted | None,
    ) -> Reply:
        session = await self.sessions.load(key)
        earlier: tuple[Attempt, ...] = ()
        safety = cmd.safety_failover
        if session is None:
            result = await self.router.generate(
                fresh, chain=cmd.chain, failover_on_safety=safety, on_attempt=on_attempt
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
                    failover_on_safety=safety,
                    on_attempt=on_attempt,
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
                    edit, chain=cmd.chain, failover_on_safety=safety, on_attempt=on_attempt
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
                channel=result.channel,
                rebased=result.rebased,
            )
        else:
            saved = await self.sessions.add_foreign_image(
                key, model=result.model, image=image, prompt=fresh.prompt, job_id=cmd.job_id
            )
        reply = reply_from(result, version=saved.version, earlier=earlier)
        if saved.trimmed_now:
            reply.notices.append(CONTEXT_TRIMMED)
        return reply

    def _prefer(self, cmd: ImagineCommand, model: str | None) -> Sequence[str] | None:
        """The thread's own Gemini model first, then the usual chain."""
        if model is None:
            return cmd.chain
        chain = cmd.chain if cmd.chain is not None else [r.model.id for r in self.router.routes]
        return [model, *dict.fromkeys(m for m in chain if m != model)]
