"""What a person asked for, in words every platform shares, and what the bot answers.

An adapter translates a platform event into one of these and renders the
``Answer``; what they mean is decided here, once for every platform:

    NewImage       /imagine: a prompt, options, attachments
    ThreadMessage  a message in a job's thread (or, where there are no threads, a
                   reply to a job's message): the thread's next edit
    ButtonPress    Retry · Vary · Upscale 4K on a job's message — acted on only where
                   the job is: its channel (and thread), never from another channel

``ImagineService.take`` resolves the intake (which thread, what the button asks
for), validates it once, reserves quota, asks the adapter's ``Placer`` to show
the job's status message — only once the job is accepted — and queues it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.commands import UPSCALE_PROMPT, VARY_PROMPT, ImagineCommand, Requester
from bot.errors import InputError
from bot.jobs import Job, JobStore

References = tuple[tuple[str, bytes], ...]  # (file name, bytes) as uploaded
Fetch = Callable[[], Awaitable[References]]
"""Downloads a message's attachments (InputError if one is too large or gone); called
only once the message is known to be a job's (a thread the bot is not in costs nothing)."""


class Press(StrEnum):
    RETRY = "retry"
    VARY = "vary"
    UPSCALE = "upscale"


@dataclass(frozen=True, slots=True)
class NewImage:
    who: Requester
    channel: str
    prompt: str
    key: str  # the platform event's id: the same event again makes no second job
    aspect: str | None = None
    size: str | None = None
    attachments: Fetch | None = None


@dataclass(frozen=True, slots=True)
class MessageRef:
    channel: str
    message: str


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    who: Requester
    channel: str  # the channel the thread belongs to
    thread: str | None  # the thread it was posted in; None: not in a thread
    text: str
    key: str
    attachments: Fetch | None = None
    reply_to: MessageRef | None = None  # where there are no job threads (Discord DMs)
    aspect: str | None = None  # None: the thread's own (the CLI's --session can set them)
    size: str | None = None


@dataclass(frozen=True, slots=True)
class ButtonPress:
    who: Requester
    job_id: str  # the job whose message carries the button
    press: Press
    key: str
    channel: str  # where the pressed message is (on Discord a thread is a channel too)
    thread: str | None = None  # the thread it is in, where the platform says; None: unknown


Intake = NewImage | ThreadMessage | ButtonPress


@dataclass(frozen=True, slots=True)
class Queued:
    job: Job
    position: int | None  # 1-based place in the queue; None: already running


@dataclass(frozen=True, slots=True)
class AlreadyQueued:
    job: Job  # the platform delivered the event again: the first job stands


@dataclass(frozen=True, slots=True)
class Refused:
    words: str  # for the requester alone
    code: str


@dataclass(frozen=True, slots=True)
class NotForUs:
    """A message outside any job's thread: not an edit, nothing to say."""


Answer = Queued | AlreadyQueued | Refused | NotForUs


@dataclass(frozen=True, slots=True)
class Placed:
    """Where the adapter showed a just-accepted job (``Placer.place``)."""

    thread: str  # the job's thread (a new job's status message may start it)
    message: str  # the platform's id of the job's status message
    extra: Mapping[str, Any] = field(default_factory=dict)  # the adapter's own notes


@dataclass(frozen=True, slots=True)
class Resolved:
    """An intake in the service's terms: the command and where its job goes."""

    cmd: ImagineCommand
    channel: str
    thread: str  # "": the job's status message starts a new thread
    kind: str


async def resolve(intake: Intake, jobs: JobStore) -> Resolved | None:
    """What ``intake`` asks for; None: a message that is not in a job's thread."""
    who = intake.who
    if isinstance(intake, NewImage):
        refs = await intake.attachments() if intake.attachments is not None else ()
        cmd = ImagineCommand(who, intake.prompt, intake.aspect, intake.size, refs)
        return Resolved(cmd, intake.channel, "", "imagine")
    if isinstance(intake, ThreadMessage):
        where = await _thread_of(intake, jobs)
        if where is None:
            return None
        refs = await intake.attachments() if intake.attachments is not None else ()
        cmd = ImagineCommand(who, intake.text, intake.aspect, intake.size, refs)
        return Resolved(cmd, where[0], where[1], "edit")
    return await _pressed(intake, jobs)


async def _thread_of(msg: ThreadMessage, jobs: JobStore) -> tuple[str, str] | None:
    who = msg.who
    if msg.thread and await jobs.in_thread(who.platform, who.workspace, msg.channel, msg.thread):
        return msg.channel, msg.thread
    if msg.reply_to is not None:
        ref = msg.reply_to
        found = await jobs.thread_of_message(who.platform, who.workspace, ref.channel, ref.message)
        if found is not None:
            return ref.channel, found
    return None


async def _pressed(press: ButtonPress, jobs: JobStore) -> Resolved:
    """Vary and Upscale 4K: the next turn of the job's thread. Retry: the request
    again — an /imagine in a new thread, an edit in its thread, with its images."""
    who = press.who
    job = await jobs.get(press.job_id)
    if job is None or job.platform != who.platform or job.workspace != who.workspace:
        raise InputError("job_gone")  # or one this workspace cannot see
    if not _pressed_where_it_is(press, job):
        raise InputError("button_elsewhere")  # nothing resolved, reserved or charged
    p = job.payload
    if press.press is Press.VARY:
        cmd = ImagineCommand(who, VARY_PROMPT, p.get("aspect"), p.get("size"))
        return Resolved(cmd, job.channel, job.thread, "vary")
    if press.press is Press.UPSCALE:
        cmd = ImagineCommand(who, UPSCALE_PROMPT, p.get("aspect"), "4K")
        return Resolved(cmd, job.channel, job.thread, "upscale")
    refs = tuple(
        (f"reference-{n}", ref.data)
        for n, ref in enumerate(await jobs.load_references(job), start=1)
    )
    cmd = ImagineCommand(who, p["prompt"], p.get("aspect"), p.get("size"), refs)
    return Resolved(cmd, job.channel, "" if job.kind == "imagine" else job.thread, job.kind)


def _pressed_where_it_is(press: ButtonPress, job: Job) -> bool:
    """A button acts only in its job's channel — and thread, where the platform names
    the thread a message is in (Slack, the playground) — or, where a thread is a channel
    of its own (Discord), from inside the job's thread."""
    if press.channel == job.channel:
        return press.thread is None or press.thread == job.thread
    return bool(job.thread) and press.channel == job.thread and press.thread is None
