"""Discord's side of a job: its status message, the image, notices, announcements.

A job's payload carries where its status message is (``extra``): ``where`` (the
channel or thread holding it), ``message`` (its id) and, for a slash command or
button, the interaction's webhook ``token`` and when it ``expires``. While the
token is good (Discord: 15 minutes) the message is edited through it — that is
also what ends the "thinking…" state; after that, or after a restart that took
longer, the bot edits it with its own token, or posts a new message if that
fails. Images over the upload limit are re-encoded to fit (``fit.py``).

The upload limit always comes from Discord, never from a constant of ours: the
listener stores it as ``extra["limit"]`` — the interaction's
``attachment_size_limit`` (discord.py: ``Interaction.filesize_limit``) for a slash
command or button, the guild's ``filesize_limit`` (its boost tier) for a message
in an image's thread, the last interaction's for a reply in DMs. That limit may
count the invoker's Nitro, which uploads under the bot's own token don't get
(after the 15 minutes, after a restart, for buttons and thread edits), so if
Discord refuses the file as too large (413), it is fitted once more to what the
bot itself may upload there (``bot_upload_limit``) and sent again.

The image's file name carries the job's id (``bot.jobs.image_name``): a run that
resumes a job cut off while posting reads the status message (and, should that
have been replaced by a new post, the bot's messages after it) for a file of
that job before posting again.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from typing import Any

import discord

from adapters.discord import embeds
from adapters.discord.fit import fit_upload
from bot.commands import Reply
from bot.jobs import Job, image_name, names_job
from bot.messages import JOB_RESUMED, UserError, job_interrupted
from bot.progress import Progress, Stage

log = logging.getLogger(__name__)

THREAD_TIMEOUT_S = 15.0
LOOK_BACK = 50  # messages after the status message read for an image posted anew
NO_PINGS = discord.AllowedMentions.none()


def job_view(job_id: str, *, done: bool) -> discord.ui.View:
    from adapters.discord.buttons import JobButton

    view = discord.ui.View(timeout=None)
    for action in (embeds.RETRY, embeds.VARY, embeds.UPSCALE) if done else (embeds.RETRY,):
        view.add_item(JobButton(action, job_id))
    return view


class DiscordSink:
    platform = "discord"

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    # -- the job's status message ----------------------------------------------
    async def progress(self, job: Job, event: Progress) -> None:
        if event.stage is Stage.FAILED:
            return
        embed = embeds.job_embed(
            prompt=job.payload["prompt"], user_id=job.user, state=event.describe()
        )
        await self._edit(job, embed=embed)

    async def deliver(self, job: Job, reply: Reply) -> None:
        limits = self.upload_limits(job)
        for n, limit in enumerate(limits, 1):
            try:
                await self._show_image(job, reply, limit)
                break
            except discord.HTTPException as exc:
                if exc.status != 413 or n == len(limits):
                    raise
                log.info("job %s: image refused as too large; fitting to %s", job.id, limits[n])
        await self._after_image(job, reply)

    async def already_delivered(self, job: Job, reply: Reply) -> bool:
        """Did a run a crash cut off post this job's image (into the status message, or
        anew after it)? Then only what follows the image is done: the thread for edits."""
        extra = _extra(job)
        channel = self.client.get_partial_messageable(int(extra["where"]))
        status = int(extra["message"])
        try:
            if _shows_job(await channel.fetch_message(status), job):
                await self._after_image(job, reply)
                return True
        except discord.NotFound:
            log.info("job %s: status message gone; looking after it", job.id)
        me = self.client.user.id if self.client.user else self.client.application_id
        async for message in channel.history(limit=LOOK_BACK, after=discord.Object(status)):
            if message.author.id == me and _shows_job(message, job):
                await self._after_image(job, reply)
                return True
        return False

    async def _after_image(self, job: Job, reply: Reply) -> None:
        extra = _extra(job)
        if job.kind == "imagine" and not extra.get("dm"):  # the image is out: best effort
            try:
                async with asyncio.timeout(THREAD_TIMEOUT_S):
                    thread = await self._open_thread(job)
                    if thread is not None and reply.fallback and reply.notices:
                        await thread.send(embed=embeds.notice_embed(reply.notices[0]))
            except Exception as exc:
                log.warning("job %s: no thread for edits (%s)", job.id, type(exc).__name__)

    async def fail(self, job: Job, error: UserError) -> None:
        embed = embeds.failed_embed(prompt=job.payload["prompt"], user_id=job.user, error=error)
        view = job_view(job.id, done=False) if error.retryable else None
        await self._edit(job, embed=embed, view=view, attachments=[])

    async def job_resumed(self, job: Job) -> None:
        await self._edit(job, embed=embeds.notice_embed(JOB_RESUMED))

    async def job_failed(self, job: Job, *, reason: str) -> None:
        await self.fail(job, job_interrupted(reason))

    # -- the announcer's port --------------------------------------------------
    async def post_status(self, *, workspace: str, channel: str, text: str) -> None:
        target = self.client.get_partial_messageable(int(channel))
        await target.send(text, allowed_mentions=NO_PINGS)

    # -- the upload limit ------------------------------------------------------
    def upload_limits(self, job: Job) -> list[int]:
        """The limits to fit the image to, in turn: the one Discord gave when the job was
        made (``extra["limit"]``), then, if that is larger, the bot's own."""
        own = self.bot_upload_limit(job)
        given = int(_extra(job).get("limit") or 0) or own
        return [given, own] if own < given else [given]

    def bot_upload_limit(self, job: Job) -> int:
        """What the bot may upload with its own token where the job posts: the guild's
        ``filesize_limit`` (by its boost tier; bots have no Nitro). In DMs (or a guild
        not in the cache) discord.py's ``DEFAULT_FILE_SIZE_LIMIT_BYTES``, Discord's
        documented default: there is nothing else to ask there, and should Discord's
        real default be higher, this only costs a re-encode, never a refused upload."""
        guild = self._guild_of(job)
        if guild is not None:
            return guild.filesize_limit
        return discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES

    def _guild_of(self, job: Job) -> discord.Guild | None:
        where = self.client.get_channel(int(_extra(job).get("where") or job.channel))
        guild = getattr(where, "guild", None)
        if isinstance(guild, discord.Guild):
            return guild
        return self.client.get_guild(int(job.workspace)) if job.workspace.isdigit() else None

    # -- how ------------------------------------------------------------------
    async def _edit(self, job: Job, *, must: bool = False, **fields: Any) -> None:
        """Edit the status message: through the interaction while its token lasts, then
        as the bot; if neither works, post a new message (``must``: else raise)."""
        extra = _extra(job)
        where, message = int(extra["where"]), int(extra["message"])
        token, expires = extra.get("token"), float(extra.get("expires") or 0)
        files: list[discord.File] = fields.get("attachments") or []
        if token and time.time() < expires and self.client.application_id:
            hook = discord.Webhook.partial(self.client.application_id, token, client=self.client)
            try:
                await hook.edit_message(message, allowed_mentions=NO_PINGS, **fields)
                return
            except discord.HTTPException as exc:
                if exc.status == 413:  # too large: no other way takes a larger file
                    raise
                log.info(
                    "job %s: interaction edit refused (%s); editing as the bot", job.id, exc.code
                )
                _rewind(files)
        channel = self.client.get_partial_messageable(where)
        try:
            await channel.get_partial_message(message).edit(allowed_mentions=NO_PINGS, **fields)
            return
        except discord.HTTPException as exc:
            if not must or exc.status == 413:
                raise
            log.info("job %s: status message not editable (%s); posting anew", job.id, exc.code)
            _rewind(files)
        fields.pop("attachments", None)
        await channel.send(allowed_mentions=NO_PINGS, files=files, **fields)

    async def _show_image(self, job: Job, reply: Reply, limit: int) -> None:
        """The status message becomes the image (fitted to ``limit``), its embed and buttons."""
        fitted = await asyncio.to_thread(fit_upload, reply.image, reply.mime_type, limit)
        name = image_name(job.id, reply.version, fitted.filename_ext)
        notes = [fitted.note] if fitted.note else []
        embed = embeds.done_embed(
            prompt=job.payload["prompt"], user_id=job.user, reply=reply, filename=name, notes=notes
        )
        file = discord.File(io.BytesIO(fitted.data), filename=name)
        await self._edit(
            job, embed=embed, attachments=[file], view=job_view(job.id, done=True), must=True
        )

    async def _open_thread(self, job: Job) -> discord.Thread | None:
        """The thread for edits, started from the job's message (its id is the thread's)."""
        channel = self.client.get_channel(int(job.channel))
        if not isinstance(channel, discord.TextChannel):
            return None
        words = " ".join(job.payload["prompt"].split())
        name = words[:90] + "…" if len(words) > 90 else words
        try:
            return await channel.create_thread(
                name=name or "imagine", message=discord.Object(int(job.thread))
            )
        except discord.HTTPException as exc:  # e.g. resumed: the thread already exists
            log.info("job %s: no new thread (%s)", job.id, exc.code)
            found = channel.guild.get_thread(int(job.thread))
            return found


def _shows_job(message: discord.Message, job: Job) -> bool:
    return any(names_job(a.filename, job.id) for a in message.attachments)


def _rewind(files: list[discord.File]) -> None:
    for f in files:
        f.reset()


def _extra(job: Job) -> dict[str, Any]:
    return dict(job.payload.get("extra") or {})


async def _quietly(call: Any) -> None:
    try:
        await call
    except discord.HTTPException as exc:
        log.warning("Discord call failed (%s)", exc.code)
