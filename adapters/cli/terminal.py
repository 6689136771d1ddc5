"""The CLI's side of a job, as ``adapters/slack/sink.py`` is Slack's: ``imagine``'s
arguments become an intake, and the job shows in the terminal.

    imagine "prompt"               → NewImage: a job of its own, in no thread
    imagine "prompt" --session S   → ThreadMessage in thread S (the session's next
                                     turn); S's first run: a NewImage that starts S

``CliPlacer`` posts nothing: it names the job's thread (the session, if any).
``CliSink`` prints each progress line to stderr, writes the image (``deliver``: a
path it cannot write raises, so the job fails and is not billed) and keeps, per job,
what the command prints: ``Saved`` or ``Failed``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.commands import Reply, Requester
from bot.errors import InputError
from bot.intake import (
    AlreadyQueued,
    Intake,
    NewImage,
    NotForUs,
    Placed,
    Queued,
    References,
    Refused,
    ThreadMessage,
)
from bot.jobs import Job
from bot.messages import JOB_RESUMED, UserError, job_interrupted, user_error
from bot.ports import Placer
from bot.progress import Progress, Stage
from bot.service import ImagineService

log = logging.getLogger("imagine-bot")

PLATFORM = CHANNEL = "cli"
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def intakes(
    who: Requester,
    prompt: str,
    *,
    aspect: str | None,
    size: str | None,
    refs: References,
    session: str | None,
) -> list[Intake]:
    """What one ``imagine`` asks for, in the order to try until one is for the bot."""

    async def fetch() -> References:
        return refs

    key = f"cli:{secrets.token_hex(8)}"  # one invocation, one event
    attachments = fetch if refs else None
    new = NewImage(who, CHANNEL, prompt, key, aspect, size, attachments)
    if session is None:
        return [new]
    edit = ThreadMessage(who, CHANNEL, session, prompt, key, attachments, aspect=aspect, size=size)
    return [edit, new]


async def take(
    service: ImagineService, asks: Sequence[Intake], placer: Placer
) -> Queued | AlreadyQueued | Refused:
    """The first answer that is for the bot (the last ask, a NewImage, always is)."""
    for intake in asks:
        answer = await service.take(intake, placer)
        if not isinstance(answer, NotForUs):
            return answer
    raise AssertionError("a NewImage is always for the bot")


class CliPlacer:
    """A job shows in the terminal: nothing to post; its thread is the session (or none)."""

    def __init__(self, session: str | None) -> None:
        self.thread = session or ""

    async def place(self, job: Job) -> Placed:
        return Placed(thread=job.thread or self.thread, message=job.id)

    async def withdraw(self, placed: Placed) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Saved:
    path: Path
    reply: Reply


@dataclass(frozen=True, slots=True)
class Failed:
    error: UserError
    unsaved: bool = False  # the image was made, but writing it failed


class CliSink:
    platform = PLATFORM

    def __init__(self, *, out: Path | None = None) -> None:
        self.out = out  # None: out/imagine-<time>-<model>-<random>.<ext>
        self.outcomes: dict[str, Saved | Failed] = {}  # job id -> what the command prints

    async def progress(self, job: Job, event: Progress) -> None:
        if event.stage is not Stage.FAILED:  # the error line says so
            print(event.describe(), file=sys.stderr, flush=True)

    async def deliver(self, job: Job, reply: Reply) -> None:
        path = self.out or default_path(reply.model, reply.mime_type)
        try:
            await asyncio.to_thread(_write, path, reply.image)
        except OSError as exc:
            log.error("could not write %s: %s", path, exc.strerror)
            said = user_error(InputError("save_failed", f"{path} ({exc.strerror})"))
            self.outcomes[job.id] = Failed(said, unsaved=True)
            raise
        self.outcomes[job.id] = Saved(path, reply)

    async def already_delivered(self, job: Job, reply: Reply) -> bool:
        """Never: the CLI resumes no job (one it left cut off is failed by the bot)."""
        return False

    async def fail(self, job: Job, error: UserError) -> None:
        self.outcomes.setdefault(job.id, Failed(error))  # deliver's own words come first

    async def job_resumed(self, job: Job) -> None:
        print(JOB_RESUMED, file=sys.stderr, flush=True)

    async def job_failed(self, job: Job, *, reason: str) -> None:
        await self.fail(job, job_interrupted(reason))


def default_path(model: str, mime: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path("out") / f"imagine-{stamp}-{model}-{secrets.token_hex(3)}.{_EXT.get(mime, 'png')}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
