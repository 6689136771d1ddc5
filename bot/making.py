"""Making one image for a command: alone, or as the next turn of a thread.

Edits in a thread continue its Gemini session (history with thought
signatures). When no multi-turn model is up, the edit goes to the first
edit-capable backup with the thread's latest image as input (the router's
``Fallback``: one call to the router either way); that image then rides into the
Gemini session as a user-supplied image once Gemini is back.
No money is handled here (see ``bot.service``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from bot.commands import ImagineCommand, Reply, reply_from
from bot.domain import GenerationRequest, ImageInput
from bot.messages import CONTEXT_TRIMMED
from bot.ports import AttemptStarted
from bot.router import Fallback, Router
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
        request, chain = fresh, cmd.chain
        fallback: Fallback | None = None
        if session is not None:
            request = session.next_request(
                prompt=fresh.prompt,
                aspect_ratio=fresh.aspect_ratio or session.config.get("aspect_ratio"),
                size=fresh.size or session.config.get("size"),
                references=fresh.references,
            )
            chain = self._prefer(cmd, session.model)
            if request.history:  # no multi-turn model up: edit the latest image instead
                fallback = Fallback(partial(self._edit_latest, key, fresh, request), cmd.chain)
        result = await self.router.generate(
            request,
            chain=chain,
            failover_on_safety=cmd.safety_failover,
            on_attempt=on_attempt,
            fallback=fallback,
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
        reply = reply_from(result, version=saved.version)
        if saved.trimmed_now:
            reply.notices.append(CONTEXT_TRIMMED)
        return reply

    async def _edit_latest(
        self, key: ThreadKey, fresh: GenerationRequest, request: GenerationRequest
    ) -> GenerationRequest | None:
        """No multi-turn model is up: the thread's latest image, edited by any
        edit-capable model instead (None: the thread has no image yet)."""
        latest = await self.sessions.latest_image(key)
        if latest is None:
            return None
        data, mime, _ = latest
        return GenerationRequest(
            prompt=fresh.prompt,
            aspect_ratio=request.aspect_ratio,
            size=request.size,
            references=(ImageInput(data, mime), *fresh.references),
        )

    def _prefer(self, cmd: ImagineCommand, model: str | None) -> Sequence[str] | None:
        """The thread's own Gemini model first, then the usual chain."""
        if model is None:
            return cmd.chain
        chain = cmd.chain if cmd.chain is not None else [r.model.id for r in self.router.routes]
        return [model, *dict.fromkeys(m for m in chain if m != model)]
