"""Where an accepted job's status message goes on Discord (``bot.ports.Placer``).

- ``InteractionPlacer`` (a slash command or a button): a job that starts a new
  thread (/imagine, Retry of an /imagine) *is* the interaction's response — the
  deferred "thinking…" message, later the image; a job in an existing thread
  (Vary, Upscale, Retry of an edit) acknowledges the button without a message
  and posts its status in that thread.
- ``ChannelPlacer`` (a message in a job's thread, or a reply in DMs): a new
  status message where the person wrote.

The service asks only once the job is accepted, so a refused request shows
nothing in the channel. Each job keeps Discord's upload limit (``limit``) and,
for an interaction, its webhook ``token`` (see ``sink.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord import embeds
from adapters.discord.sink import NO_PINGS
from bot.intake import Placed
from bot.jobs import Job

TOKEN_LIFE_S = 14 * 60  # Discord's 15 minutes, with a margin

Limit = Callable[[], Awaitable[int | None]]


async def _post_status(
    where: discord.abc.Messageable, job: Job, *, limit: int | None, dm: bool
) -> tuple[discord.Message, Placed]:
    status = await where.send(embed=_embed(job, "Queued"), allowed_mentions=NO_PINGS)
    extra: dict[str, Any] = {"where": str(status.channel.id), "message": str(status.id)}
    if limit:
        extra["limit"] = limit
    extra["dm"] = dm
    return status, Placed(thread=job.thread, message=str(status.id), extra=extra)


class InteractionPlacer:
    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction
        self.status: discord.Message | None = None  # a status posted in a thread
        self._lock = asyncio.Lock()
        self._unclaimed = False  # a "thinking…" message no job has taken (yet)

    async def defer(self, *, thinking: bool) -> None:
        """Acknowledge once (Discord allows 3 s): ``thinking`` shows "thinking…"."""
        async with self._lock:
            if not self.interaction.response.is_done():
                await self.interaction.response.defer(thinking=thinking)
                self._unclaimed = thinking

    async def place(self, job: Job) -> Placed:
        i = self.interaction
        if job.thread:  # Vary, Upscale, Retry of an edit: in the job's thread
            await self.defer(thinking=False)
            where = await home(i.client, job.thread, job.channel)
            self.status, placed = await _post_status(
                where, job, limit=i.filesize_limit, dm=i.guild is None
            )
            return placed
        await self.defer(thinking=True)
        original = await i.original_response()
        self._unclaimed = False
        extra = {
            "where": str(i.channel_id),
            "message": str(original.id),
            "token": i.token,
            "expires": time.time() + TOKEN_LIFE_S,
            "limit": i.filesize_limit,  # Discord's attachment_size_limit
            "dm": i.guild is None,
        }
        return Placed(thread=str(original.id), message=str(original.id), extra=extra)

    async def withdraw(self, placed: Placed) -> None:
        if self.status is not None:
            await self.status.delete()
        else:
            self._unclaimed = False
            await self.interaction.delete_original_response()

    async def tell(self, words: str) -> None:
        """Words for the requester alone, however far the interaction got (a
        "thinking…" that no job took — a slow request then refused — is withdrawn)."""
        i = self.interaction
        if not i.response.is_done():
            await i.response.send_message(words, ephemeral=True)
            return
        if self._unclaimed:
            self._unclaimed = False
            await i.delete_original_response()
        await i.followup.send(words, ephemeral=True)

    async def show_queued(self, job: Job, state: str) -> None:
        if self.status is not None:
            await self.status.edit(embed=_embed(job, state))
        else:
            await self.interaction.edit_original_response(embed=_embed(job, state))


class ChannelPlacer:
    def __init__(self, where: discord.abc.Messageable, *, limit: Limit, dm: bool) -> None:
        self.where, self._limit, self._dm = where, limit, dm
        self.status: discord.Message | None = None

    async def place(self, job: Job) -> Placed:
        self.status, placed = await _post_status(
            self.where, job, limit=await self._limit(), dm=self._dm
        )
        return placed

    async def withdraw(self, placed: Placed) -> None:
        if self.status is not None:
            await self.status.delete()

    async def show_queued(self, job: Job, state: str) -> None:
        if self.status is not None:
            await self.status.edit(embed=_embed(job, state))


def _embed(job: Job, state: str) -> discord.Embed:
    return embeds.job_embed(prompt=job.payload["prompt"], user_id=job.user, state=state)


async def home(client: discord.Client, thread: str, channel: str) -> discord.abc.Messageable:
    """Where a job's thread lives: its Discord thread if one was opened (its id is the
    first message's), else the channel itself (DMs, /imagine inside a thread, no
    permission to open threads)."""
    found = client.get_channel(int(thread))
    if found is None:
        try:
            found = await client.fetch_channel(int(thread))
        except discord.HTTPException:
            found = None
    target = found if isinstance(found, discord.Thread) else None
    return target or client.get_partial_messageable(int(channel))
