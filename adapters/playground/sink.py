"""The playground's side of a job: its status message, kept current, and the image.

As on Slack, a job's *status message* is the root of a new thread for
``/imagine`` and Retry, and a reply in the thread for edits, Vary and Upscale;
its post id rides in the job's payload (``extra.post``). The finished image is
drawn into that message, with Retry · Vary · Upscale 4K under it. After a
restart the room is empty (it lives in memory): a resumed job's message is
posted again.
"""

from __future__ import annotations

from adapters.playground.room import BOT, Post, Room
from bot.commands import Reply
from bot.intake import Placed
from bot.jobs import Job
from bot.messages import JOB_RESUMED, UserError, job_interrupted
from bot.progress import Progress, Stage

PLATFORM = "playground"


def _asked(job: Job) -> str:
    return str(job.payload.get("prompt", ""))


def status_post(job: Job) -> str:
    """The job's status message (placed by ``PlaygroundPlacer``)."""
    return str((job.payload.get("extra") or {}).get("post") or "")


class PlaygroundPlacer:
    def __init__(self, room: Room) -> None:
        self.room = room

    async def place(self, job: Job) -> Placed:
        post = self.room.post(
            job.channel,
            BOT,
            _asked(job),
            thread=job.thread or None,
            state="Queued",
            job=job.id,
            requester=job.user,
        )
        return Placed(thread=job.thread or post.id, message=post.id, extra={"post": post.id})

    async def withdraw(self, placed: Placed) -> None:
        self.room.remove(placed.message)


class PlaygroundSink:
    platform = PLATFORM

    def __init__(self, room: Room) -> None:
        self.room = room

    def _status(self, job: Job, **changes: object) -> Post:
        """Change the job's status message — or post it again if the room forgot it."""
        shown = status_post(job)
        post = self.room.update(shown, **changes) if shown else None
        if post is None:
            thread = job.thread if job.thread != shown else None
            post = self.room.post(
                job.channel, BOT, _asked(job), thread, job=job.id, requester=job.user, **changes
            )
            if shown:
                self.room.moved(shown, post.id)
        return post

    async def progress(self, job: Job, event: Progress) -> None:
        if event.stage is not Stage.FAILED:  # deliver / fail draw the final message
            self._status(job, state=event.describe())

    async def deliver(self, job: Job, reply: Reply) -> None:
        image = await self.room.add_image(reply.image, reply.mime_type)
        made = [f"made with {reply.model}"]
        if reply.elapsed_s is not None:
            made.append(f"{reply.elapsed_s:.1f} s")
        made.append(f"${reply.cost_usd:.3f}")
        if reply.version is not None:
            made.insert(0, f"v{reply.version}")
        self._status(
            job,
            state=" · ".join(made),
            detail=reply.said(),
            image=f"image/{image}",
            buttons=True,
            error=False,
        )

    async def already_delivered(self, job: Job, reply: Reply) -> bool:
        """Never: ``deliver`` draws the image into the job's status message, so drawing
        it again after a restart shows it once all the same."""
        return False

    async def fail(self, job: Job, error: UserError) -> None:
        self._status(job, state=error.message, error=True, buttons=error.retryable)

    async def job_resumed(self, job: Job) -> None:
        self.room.post(job.channel, BOT, JOB_RESUMED, thread=job.thread or None)
        self._status(job, state="Resumed")

    async def job_failed(self, job: Job, *, reason: str) -> None:
        await self.fail(job, job_interrupted(reason))

    # -- the announcer's port --------------------------------------------------
    async def post_status(self, *, workspace: str, channel: str, text: str) -> None:
        self.room.post(channel, BOT, text)
