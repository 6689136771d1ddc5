"""``/imagine``, edits in an image's thread (or, in DMs, replies to it), and the
Retry · Vary · Upscale 4K buttons — each becomes a job.

Bad input is answered privately before anything else; otherwise the command is
deferred (Discord allows 3 s) and its response becomes the job's status message,
which the sink keeps current and finally turns into the image. The interaction
or message id keys the job, so a redelivered event makes no second job.

Each job carries the upload limit Discord gave (``extra["limit"]``, see
``sink.py``): the interaction's ``filesize_limit`` for a command or button, the
guild's ``filesize_limit`` for a message in an image's thread, and in DMs the
limit stored on the job that the reply answers.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import embeds
from adapters.discord.sink import NO_PINGS
from bot.commands import UPSCALE_PROMPT, VARY_PROMPT, ImagineCommand, Requester
from bot.errors import ImagineError, InputError
from bot.messages import JOB_GONE, user_error
from bot.service import ImagineService, Ticket
from bot.validate import MAX_REFERENCE_BYTES, build_request

log = logging.getLogger(__name__)

TOKEN_LIFE_S = 14 * 60  # Discord's 15 minutes, with a margin
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
        try:
            build_request(prompt, aspect=aspect, size=size)
            if reference is not None and reference.size > MAX_REFERENCE_BYTES:
                raise InputError("reference_too_large", reference.filename)
        except InputError as exc:
            await interaction.response.send_message(user_error(exc).message, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        refs: tuple[tuple[str, bytes], ...] = ()
        if reference is not None:
            refs = ((reference.filename, await reference.read()),)
        who = Requester(
            "discord", workspace_of(interaction.guild, interaction.user), str(interaction.user.id)
        )
        cmd = ImagineCommand(who, prompt, aspect, size, refs)
        await self._from_interaction(interaction, cmd, "imagine")

    # -- a message in a job's thread (or a reply to a job's message) -------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or not isinstance(message.author, discord.abc.User):
            return
        text = " ".join(re.sub(r"<@!?\d+>", " ", message.content).split())
        if not text and not message.attachments:
            return  # without the message-content intent Discord sends no text: nothing to do
        jobs, ch = self.service.jobs, message.channel
        ws = workspace_of(message.guild, message.author)
        if isinstance(ch, discord.Thread) and await jobs.in_thread(
            "discord", ws, str(ch.parent_id), str(ch.id)
        ):
            channel, thread = str(ch.parent_id), str(ch.id)
        elif (
            (message.guild is None or isinstance(ch, discord.Thread))
            and message.reference is not None
            and message.reference.message_id is not None
        ):  # where there are no job threads, a reply to an image is its edit
            found = await jobs.thread_of_message(
                "discord", ws, str(ch.id), str(message.reference.message_id)
            )
            if found is None:
                return
            channel, thread = str(ch.id), found
        else:
            return
        who = Requester("discord", ws, str(message.author.id))
        limit = message.guild.filesize_limit if message.guild else await self._dm_limit(message)
        try:
            for a in message.attachments:
                if a.size > MAX_REFERENCE_BYTES:
                    raise InputError("reference_too_large", a.filename)
            refs = tuple([(a.filename, await a.read()) for a in message.attachments])
            cmd = ImagineCommand(who, text, references=refs)
            build_request(cmd.prompt, references=refs)
        except (InputError, discord.HTTPException) as exc:
            err = (
                exc if isinstance(exc, InputError) else InputError("reference_missing", "attached")
            )
            await message.reply(
                user_error(err).message, mention_author=False, allowed_mentions=NO_PINGS
            )
            return
        key, dm = f"message:{message.id}", message.guild is None
        said = await self._in_place(ch, cmd, channel, thread, key, "edit", dm=dm, limit=limit)
        if said is not None:
            await message.reply(said, mention_author=False, allowed_mentions=NO_PINGS)

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
                job = await self.service.jobs.get(found["job"]) if found else None
                if job is not None and job.platform == "discord":
                    return int((job.payload.get("extra") or {}).get("limit") or 0) or None
        return None

    # -- Retry · Vary · Upscale 4K ---------------------------------------------
    async def on_job_button(
        self, interaction: discord.Interaction[Any], action: str, job_id: str
    ) -> None:
        job = await self.service.jobs.get(job_id)
        ws = workspace_of(interaction.guild, interaction.user)
        if job is None or job.platform != "discord" or job.workspace != ws:
            await interaction.response.send_message(JOB_GONE, ephemeral=True)
            return
        who, p = Requester("discord", ws, str(interaction.user.id)), job.payload
        if action == embeds.RETRY and job.kind == "imagine":
            refs = tuple(
                (f"reference-{n}.png", r.data)
                for n, r in enumerate(await self.service.jobs.load_references(job), 1)
            )
            cmd = ImagineCommand(who, p["prompt"], p.get("aspect"), p.get("size"), refs)
            await interaction.response.defer(thinking=True)
            await self._from_interaction(interaction, cmd, "imagine")
            return
        if action == embeds.VARY:
            cmd, kind = ImagineCommand(who, VARY_PROMPT, p.get("aspect"), p.get("size")), "vary"
        elif action == embeds.UPSCALE:
            cmd, kind = ImagineCommand(who, UPSCALE_PROMPT, p.get("aspect"), "4K"), "upscale"
        else:
            refs = tuple(
                (f"reference-{n}.png", r.data)
                for n, r in enumerate(await self.service.jobs.load_references(job), 1)
            )
            cmd, kind = (
                ImagineCommand(who, p["prompt"], p.get("aspect"), p.get("size"), refs),
                job.kind,
            )
        await interaction.response.defer()
        dm = bool((p.get("extra") or {}).get("dm"))
        where = await _home(interaction.client, job.thread, job.channel)
        try:
            said = await self._in_place(
                where,
                cmd,
                job.channel,
                job.thread,
                f"button:{interaction.id}",
                kind,
                dm=dm,
                limit=interaction.filesize_limit,  # Discord's attachment_size_limit
            )
        except Exception as exc:  # e.g. no permission to post there: say so, privately
            log.warning("button %s on job %s failed (%s)", action, job.id, type(exc).__name__)
            said = user_error(exc).message
        if said is not None:
            await interaction.followup.send(said, ephemeral=True)

    # -- shared ----------------------------------------------------------------
    async def _from_interaction(
        self, interaction: discord.Interaction[Any], cmd: ImagineCommand, kind: str
    ) -> None:
        """The deferred response is the job's status message (and later its thread)."""
        original = await interaction.original_response()
        extra = {
            "where": str(interaction.channel_id),
            "message": str(original.id),
            "token": interaction.token,
            "expires": time.time() + TOKEN_LIFE_S,
            "limit": interaction.filesize_limit,  # Discord's attachment_size_limit
            "dm": interaction.guild is None,
        }
        try:
            ticket = await self.service.submit(
                replace(cmd, extra=extra),
                channel=str(interaction.channel_id),
                thread=str(original.id),
                idempotency_key=f"interaction:{interaction.id}",
                kind=kind,
            )
        except Exception as exc:
            if not isinstance(exc, ImagineError):
                log.error("could not queue a job (%s)", type(exc).__name__, exc_info=exc)
            await interaction.delete_original_response()
            await interaction.followup.send(user_error(exc).message, ephemeral=True)
            return
        if self.service.runner.position(ticket.job.id):  # still waiting: end "thinking…"
            await interaction.edit_original_response(embed=_queued(cmd, ticket))

    async def _in_place(
        self,
        where: discord.abc.Messageable,
        cmd: ImagineCommand,
        channel: str,
        thread: str,
        key: str,
        kind: str,
        *,
        dm: bool,
        limit: int | None,
    ) -> str | None:
        """Post a status message in ``where`` and queue the job; a refusal's words, or None.
        ``limit``: the upload limit Discord gave (None: the sink uses the bot's own)."""
        status = await where.send(
            embed=embeds.job_embed(prompt=cmd.prompt, user_id=cmd.requester.user, state="Queued"),
            allowed_mentions=NO_PINGS,
        )
        extra: dict[str, Any] = {"where": str(status.channel.id), "message": str(status.id)}
        if limit:
            extra["limit"] = limit
        extra["dm"] = dm
        try:
            ticket = await self.service.submit(
                replace(cmd, extra=extra),
                channel=channel,
                thread=thread,
                idempotency_key=key,
                kind=kind,
            )
        except ImagineError as exc:
            await _quietly_delete(status)
            return user_error(exc).message
        if not ticket.created:
            await _quietly_delete(status)
            return None
        if ticket.position and ticket.position > 1:
            await status.edit(embed=_queued(cmd, ticket))
        return None


async def _home(client: discord.Client, thread: str, channel: str) -> discord.abc.Messageable:
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


def _queued(cmd: ImagineCommand, ticket: Ticket) -> discord.Embed:
    state = f"Queued (#{ticket.position})" if ticket.position else "Queued"
    return embeds.job_embed(prompt=cmd.prompt, user_id=cmd.requester.user, state=state)


async def _quietly_delete(message: discord.Message) -> None:
    try:
        await message.delete()
    except discord.HTTPException as exc:
        log.info("could not withdraw a status message (%s)", exc.code)
