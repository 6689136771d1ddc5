"""Slack's side of a job: the status message, the image in the thread, notices.

A job's *status message* is the message its progress is shown in: the root of
the thread for ``/imagine`` and Retry, a reply in the thread for edits, Vary and
Upscale. Its ``ts`` rides in the job's payload (``extra.status_ts``), so after a
restart the same message is updated. Also the status-channel poster for the
announcer. Nothing here quotes an exception: Slack errors are logged by type.

Images go to Slack only as files (``files_upload_v2``), never in image blocks.
Slack shows a file inline only if it is a PNG, JPEG or GIF (the same types
image blocks accept), so any other type a model returns — WebP above all — is
converted to PNG first (``images.for_slack``), with a matching file name.

The file's name carries the job's id (``bot.jobs.image_name``), so a run that
resumes a job cut off while posting looks in the thread (``conversations.replies``,
from the job's status message on) for a file of that job before posting again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.images import for_slack
from bot.commands import Reply
from bot.intake import Placed
from bot.jobs import Job, image_name, names_job
from bot.messages import JOB_RESUMED, UserError, job_interrupted
from bot.progress import Progress, Stage

log = logging.getLogger(__name__)

REPLIES_PAGE = 15  # conversations.replies' most per page for apps outside the Marketplace
REPLIES_PAGES = 20  # pages read looking for an earlier post, at most


def status_ts(job: Job) -> str:
    extra: dict[str, Any] = job.payload.get("extra") or {}
    return str(extra.get("status_ts") or job.thread)


async def _shown_by_slack(job: Job, reply: Reply) -> tuple[bytes, str]:
    """The image as a PNG, JPEG or GIF (converted off the event loop) and its extension;
    bytes Pillow can't read go as they came (as before: a file, if not a picture)."""
    try:
        image = await asyncio.to_thread(for_slack, reply.image)
    except ValueError:
        log.warning("job %s: the image (%s) is unreadable; sent as it is", job.id, reply.mime_type)
        return reply.image, reply.mime_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    if image.converted:
        log.info("job %s: %s converted to PNG for Slack", job.id, reply.mime_type)
    return image.data, image.extension


class SlackPlacer:
    """Posts an accepted job's status message: the root of a new thread for /imagine
    and Retry, a reply in the thread for edits, Vary and Upscale."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._channel = ""

    async def place(self, job: Job) -> Placed:
        text, body = blocks.job_blocks(prompt=job.payload["prompt"], user=job.user, state="Queued")
        answer = await self.client.chat_postMessage(
            channel=job.channel, thread_ts=job.thread or None, text=text, blocks=body
        )
        self._channel, ts = job.channel, str(answer["ts"])
        return Placed(thread=job.thread or ts, message=ts, extra={"status_ts": ts})

    async def withdraw(self, placed: Placed) -> None:
        await self.client.chat_delete(channel=self._channel, ts=placed.message)


class SlackSink:
    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def progress(self, job: Job, event: Progress) -> None:
        if event.stage is Stage.FAILED:
            return  # deliver / fail draw the final message
        text, body = blocks.job_blocks(
            prompt=job.payload["prompt"], user=job.user, state=event.describe()
        )
        await self.client.chat_update(
            channel=job.channel, ts=status_ts(job), text=text, blocks=body
        )

    async def deliver(self, job: Job, reply: Reply) -> None:
        """The image into the thread (raising if Slack refuses it), then the final status."""
        version = reply.version or 1
        data, extension = await _shown_by_slack(job, reply)
        await self.client.files_upload_v2(
            channel=job.channel,
            thread_ts=job.thread,
            file=data,
            filename=image_name(job.id, version, extension),
            title=job.payload["prompt"][:200],
            initial_comment=blocks.image_comment(reply),
        )
        await self._show_done(job, reply)

    async def already_delivered(self, job: Job, reply: Reply) -> bool:
        """Is a file of this job in its thread (posted by a run a crash cut off)? Then
        only the final status is drawn."""
        if not await self._posted_in_thread(job):
            return False
        await self._show_done(job, reply)
        return True

    async def _posted_in_thread(self, job: Job) -> bool:
        cursor: str | None = None
        for _ in range(REPLIES_PAGES):
            page = await self.client.conversations_replies(
                channel=job.channel,
                ts=job.thread,
                oldest=status_ts(job),
                inclusive=True,
                limit=REPLIES_PAGE,
                cursor=cursor,
            )
            for message in page.get("messages") or []:
                for file in message.get("files") or []:
                    if names_job(str(file.get("name") or ""), job.id):
                        return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return False
        log.warning("job %s: thread too long to search for an earlier post", job.id)
        return False

    async def _show_done(self, job: Job, reply: Reply) -> None:
        text, body = blocks.done_blocks(
            prompt=job.payload["prompt"], user=job.user, job_id=job.id, reply=reply
        )
        try:  # the image is in the thread: a failed status edit must not un-deliver it
            await self.client.chat_update(
                channel=job.channel, ts=status_ts(job), text=text, blocks=body
            )
        except Exception as exc:
            log.warning("job %s: final status not shown (%s)", job.id, type(exc).__name__)

    async def fail(self, job: Job, error: UserError) -> None:
        text, body = blocks.failed_blocks(
            prompt=job.payload["prompt"], user=job.user, job_id=job.id, error=error
        )
        await self.client.chat_update(
            channel=job.channel, ts=status_ts(job), text=text, blocks=body
        )

    async def job_resumed(self, job: Job) -> None:
        await self._say_in_thread(job, JOB_RESUMED)

    async def job_failed(self, job: Job, *, reason: str) -> None:
        await self.fail(job, job_interrupted(reason))

    async def _say_in_thread(self, job: Job, words: str) -> None:
        text, body = blocks.notice_text(words)
        await self.client.chat_postMessage(
            channel=job.channel, thread_ts=job.thread, text=text, blocks=body
        )

    # -- the announcer's port --------------------------------------------------
    async def post_status(self, *, workspace: str, channel: str, text: str) -> None:
        await self.client.chat_postMessage(channel=channel, text=text)
