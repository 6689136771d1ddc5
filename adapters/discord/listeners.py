"""``/imagine``, edits in an image's thread (or, in DMs, replies to it), and the
Retry · Vary · Upscale 4K buttons — each becomes a job.

The listeners only translate: each event becomes a neutral intake
(``bot.intake``) for ``ImagineService.take``, whose answer they show. What a
thread message or a button means, validation, quota and the queue are the
service's. Once a job is accepted the service asks the placer
(``placing.py``) to show it: a command's response (deferred "thinking…")
becomes the job's status message, which the sink keeps current and finally
turns into the image. A refusal is said privately and nothing shows in the
channel. The interaction or message id keys the job, so a redelivered event
makes no second job.

Each job carries the upload limit Discord gave (``extra["limit"]``, see
``sink.py``): the interaction's ``filesize_limit`` for a command or button, the
guild's ``filesize_limit`` for a message in an image's thread, and in DMs the
limit stored on the job that the reply answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import embeds
from adapters.discord.placing import ChannelPlacer, InteractionPlacer
from adapters.discord.sink import NO_PINGS
from bot.commands import Requester
from bot.errors import InputError
from bot.intake import (
    ButtonPress,
    Intake,
    MessageRef,
    NewImage,
    Press,
    Queued,
    References,
    Refused,
    ThreadMessage,
)
from bot.messages import queued_state, user_error
from bot.service import ImagineService
from bot.validate import MAX_REFERENCE_BYTES

log = logging.getLogger(__name__)

CANT_POST_HERE = (
    "I don't have permission to post here, so nothing was queued or charged — ask a server "
    "admin to let me Send Messages (and Send Messages in Threads) in this channel."
)
ACK_WITHIN_S = 2.0  # Discord wants an interaction answered within 3 s
PRESSES = {embeds.RETRY: Press.RETRY, embeds.VARY: Press.VARY, embeds.UPSCALE: Press.UPSCALE}
ASPECTS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9"]


def workspace_of(guild: discord.abc.Snowflake | None, user: discord.abc.Snowflake) -> str:
    """A guild's id; all DMs share one workspace ("dm": one daily cap and budget)."""
    return str(guild.id) if guild is not None else "dm"


class ImagineCog(commands.Cog):
    def __init__(self, service: ImagineService) -> None:
        self.service = service

    @app_commands.command(name="imagine", description="Make an image")
    @app_commands.describe(
        prompt="What to draw",
        aspect="Aspect ratio",
        size="Resolution (models that can't do it use their nearest)",
        reference="An image to work from",
    )
    @app_commands.choices(
        aspect=[app_commands.Choice(name=a, value=a) for a in ASPECTS],
        size=[app_commands.Choice(name=s, value=s) for s in ("1K", "2K", "4K")],
    )
    async def imagine(
        self,
        interaction: discord.Interaction[Any],
        prompt: str,
        aspect: str | None = None,
        size: str | None = None,
        reference: discord.Attachment | None = None,
    ) -> None:
        who = Requester(
            "discord", workspace_of(interaction.guild, interaction.user), str(interaction.user.id)
        )
        intake = NewImage(
            who,
            str(interaction.channel_id),
            prompt,
            key=f"interaction:{interaction.id}",
            aspect=aspect,
            size=size,
            attachments=(lambda: _read([reference])) if reference is not None else None,
        )
        placer = InteractionPlacer(interaction)
        await self._take(intake, placer, slow=lambda: placer.defer(thinking=True))

    # -- a message in a job's thread (or a reply to a job's message) -------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not isinstance(message.author, discord.abc.User):
            return
        text = " ".join(re.sub(r"<@!?\d+>", " ", message.content).split())
        if not text and not message.attachments:
            return  # without the message-content intent Discord sends no text: nothing to do
        ch, ref = message.channel, message.reference
        in_thread = isinstance(ch, discord.Thread)
        reply_to = None
        if (message.guild is None or in_thread) and ref is not None and ref.message_id:
            reply_to = MessageRef(str(ch.id), str(ref.message_id))  # no job threads here
        files = list(message.attachments)
        ws = workspace_of(message.guild, message.author)
        intake = ThreadMessage(
            Requester("discord", ws, str(message.author.id)),
            str(ch.parent_id) if isinstance(ch, discord.Thread) else str(ch.id),
            str(ch.id) if in_thread else None,
            text,
            key=f"message:{message.id}",
            attachments=(lambda: _read(files)) if files else None,
            reply_to=reply_to,
        )
        guild = message.guild
        limit = (lambda: _given(guild.filesize_limit)) if guild else lambda: self._dm_limit(message)
        placer = ChannelPlacer(ch, limit=limit, dm=guild is None)
        try:
            answer = await self.service.take(intake, placer)
        except Exception as exc:  # e.g. no permission to post in this thread
            log.warning("could not queue a thread message's job (%s)", type(exc).__name__)
            said = CANT_POST_HERE if isinstance(exc, discord.Forbidden) else user_error(exc).message
            with contextlib.suppress(discord.HTTPException):
                await message.reply(said, mention_author=False, allowed_mentions=NO_PINGS)
            return
        if isinstance(answer, Refused):
            await message.reply(answer.words, mention_author=False, allowed_mentions=NO_PINGS)
        elif isinstance(answer, Queued) and answer.position and answer.position > 1:
            await placer.show_queued(answer.job, queued_state(answer.position))

    async def _dm_limit(self, message: discord.Message) -> int | None:
        """In DMs, the upload limit stored on the job whose image ``message`` replies to
        (its buttons carry the job id): the last interaction's there. None if unknown."""
        ref = message.reference
        replied = ref.resolved if ref is not None else None
        if not isinstance(replied, discord.Message):
            return None
        for row in replied.components:
            for item in getattr(row, "children", ()):
                found = re.fullmatch(embeds.CUSTOM_ID_PATTERN, getattr(item, "custom_id", "") or "")
                job = await self.service.job(found["job"]) if found else None
                if job is not None and job.platform == "discord":
                    return int((job.payload.get("extra") or {}).get("limit") or 0) or None
        return None

    # -- Retry · Vary · Upscale 4K ---------------------------------------------
    async def on_job_button(
        self, interaction: discord.Interaction[Any], action: str, job_id: str
    ) -> None:
        who = Requester(
            "discord", workspace_of(interaction.guild, interaction.user), str(interaction.user.id)
        )
        press = ButtonPress(
            who,
            job_id,
            PRESSES[action],
            key=f"button:{interaction.id}",
            channel=str(interaction.channel_id),  # a thread's own id when pressed in one
        )
        await self._take(press, InteractionPlacer(interaction))

    # -- shared ----------------------------------------------------------------
    async def _take(
        self,
        intake: Intake,
        placer: InteractionPlacer,
        *,
        slow: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Hand an interaction's request to the service and show its answer. ``slow``:
        how to acknowledge the interaction if the answer is not ready within Discord's
        3 s (e.g. a large reference to download)."""
        task = asyncio.ensure_future(self.service.take(intake, placer))
        if slow is not None:
            done, _ = await asyncio.wait([task], timeout=ACK_WITHIN_S)
            if not done:
                await slow()
        try:
            answer = await task
        except Exception as exc:  # e.g. no permission to post there: say so, privately
            log.warning("could not queue a job (%s)", type(exc).__name__, exc_info=exc)
            await placer.tell(user_error(exc).message)
            return
        if isinstance(answer, Refused):
            await placer.tell(answer.words)
        elif isinstance(answer, Queued) and self.service.position(answer.job.id):
            await placer.show_queued(answer.job, queued_state(answer.position))


async def _read(files: list[discord.Attachment]) -> References:
    """The attachments' bytes — never one over the size limit (InputError, with
    nothing downloaded)."""
    for a in files:
        if a.size > MAX_REFERENCE_BYTES:
            raise InputError("reference_too_large", a.filename)
    try:
        return tuple([(a.filename, await a.read()) for a in files])
    except discord.HTTPException as exc:
        raise InputError("reference_missing", "attached") from exc


async def _given(limit: int) -> int | None:
    return limit
