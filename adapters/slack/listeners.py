"""What the bot does with each Slack request: ``/imagine``, thread edits, buttons.

Every listener answers Slack within its 3 s (``ack``) and only translates: the
request becomes a neutral intake (``bot.intake``) for ``ImagineService.take``,
and its answer becomes words for the requester. What a thread message or a
button means, validation, quota and the queue are the service's. Once a job is
accepted the service asks ``SlackPlacer`` to post its status message (its ``ts``
is the thread and the place progress shows); a refusal (bad input, quota) is
told to the requester alone, and nothing is posted, queued or charged. The
platform event's id keys the job, so a retried delivery makes no second job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.acks import ack_first
from adapters.slack.payloads import attached_files
from adapters.slack.sink import SlackPlacer, status_ts
from bot.commands import Requester
from bot.errors import InputError
from bot.intake import (
    AlreadyQueued,
    ButtonPress,
    Intake,
    NewImage,
    NotForUs,
    Press,
    Queued,
    Refused,
    ThreadMessage,
)
from bot.jobs import Job
from bot.messages import ALREADY_ON_IT, QUEUED_IN_THREAD, queued_state, user_error
from bot.options import parse
from bot.service import ImagineService
from bot.validate import MAX_REFERENCE_BYTES

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = "I can't post in this channel yet — invite me with `/invite @imagine-bot`."
SLACK_TROUBLE = "Slack didn't let me post the image's message just now — please try again."
CANT_POST = {
    "not_in_channel": NOT_IN_CHANNEL,
    "channel_not_found": NOT_IN_CHANNEL,
    "is_archived": "This channel is archived, so I can't post in it.",
    "ratelimited": "Slack is busy right now — please try again in a minute.",
}
PRESSES = {blocks.RETRY: Press.RETRY, blocks.VARY: Press.VARY, blocks.UPSCALE: Press.UPSCALE}


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of a request: words for the requester (None: nothing to say), and
    a job queued behind others, whose message is told its place once they are answered."""

    words: str | None
    behind: Job | None = None
    place: int | None = None  # its place when it was queued
    queued: bool = False  # the job is queued (not refused, not failed to show)


@dataclass
class Listeners:
    service: ImagineService
    token: str  # the bot token: downloads of files people attach
    http: aiohttp.ClientSession
    file_hosts: frozenset[str]  # the only hosts the bot token is sent to

    def register(self, app: AsyncApp) -> None:
        app.command("/imagine")(self.imagine)
        app.event("message")(self.message)
        app.event("app_mention")(self.mention)
        for action_id in (blocks.RETRY, blocks.VARY, blocks.UPSCALE):
            app.action(action_id)(self.button)

    # -- /imagine ----------------------------------------------------------------
    async def imagine(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        team, user, channel = body["team_id"], body["user_id"], body["channel_id"]
        try:
            parsed = parse(_unescape(body.get("text", "")))
        except InputError as exc:
            await ack(user_error(exc).message)
            return
        intake = NewImage(
            Requester("slack", team, user),
            channel,
            parsed.prompt,
            key=f"command:{body.get('trigger_id') or body.get('response_url')}",
            aspect=parsed.aspect,
            size=parsed.size,
        )
        taken = await ack_first(
            ack, respond, lambda early: self._take(client, intake, early), lambda t: t.queued
        )
        await self._show_place(client, taken)

    # -- a message in a job's thread: the next edit ------------------------------
    async def message(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("bot_id") or event.get("subtype") not in (
            None,
            "file_share",
            "thread_broadcast",
        ):
            return
        thread, channel, team = event.get("thread_ts"), event["channel"], body.get("team_id", "")
        if not thread or thread == event.get("ts") or not event.get("user"):
            return
        user, files = event["user"], event.get("files") or []
        intake = ThreadMessage(
            Requester("slack", team, user),
            channel,
            thread,
            _without_mentions(_unescape(event.get("text", ""))),
            key=f"event:{body.get('event_id')}",
            attachments=(lambda: self._downloads(files)) if files else None,
        )
        taken = await self._take(client, intake)
        await self._show_place(client, taken)
        if taken.words is not None and not taken.words.startswith("Queued"):
            await self._tell(client, channel, user, thread, taken.words)

    async def mention(self) -> None:
        """Mentions arrive as ``message`` events too; this listener just marks them handled."""

    # -- Retry · Vary · Upscale 4K ----------------------------------------------
    async def button(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user, channel = body["user"]["id"], body["channel"]["id"]
        team = (body.get("team") or {}).get("id") or body.get("user", {}).get("team_id", "")
        name = action["action_id"]
        # the thread the pressed message is in: a job's thread root, or a reply in it
        message, container = body.get("message") or {}, body.get("container") or {}
        thread = message.get("thread_ts") or container.get("thread_ts")
        intake = ButtonPress(
            Requester("slack", team, user),
            action.get("value", ""),
            PRESSES[name],
            key=f"action:{name}:{action.get('action_ts')}:{user}",
            channel=channel,
            thread=thread or None,
        )
        taken = await self._take(client, intake)
        await self._show_place(client, taken)
        if taken.words is not None and not taken.words.startswith("Queued"):
            await self._tell(client, channel, user, thread, taken.words)

    # -- shared ----------------------------------------------------------------
    async def _take(
        self, client: AsyncWebClient, intake: Intake, early: Callable[[Taken], None] | None = None
    ) -> Taken:
        """Hand the request to the service; what became of it (``early``: told as soon as
        the job is queued, before its message is posted)."""
        told = None if early is None else lambda answer: early(_queued(answer))
        try:
            answer = await self.service.take(intake, SlackPlacer(client), early=told)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            log.warning("could not post the job's message (%s)", error)
            return Taken(CANT_POST.get(error, SLACK_TROUBLE))
        except Exception as exc:
            log.error("could not queue a job (%s)", type(exc).__name__, exc_info=exc)
            return Taken(user_error(exc).message)
        if isinstance(answer, Refused):
            return Taken(answer.words)
        if isinstance(answer, NotForUs):
            return Taken(None)
        if isinstance(answer, AlreadyQueued):  # Slack delivered this again
            return Taken(ALREADY_ON_IT)
        return _queued(answer)

    async def _show_place(self, client: AsyncWebClient, taken: Taken) -> None:
        """The job's message says its place in the queue, if it is still waiting: done
        after the requester is answered (``ack``), so Slack's answer never waits on it."""
        job = taken.behind
        if job is None or not self.service.position(job.id):
            return
        state = queued_state(taken.place)
        text, body = blocks.job_blocks(prompt=job.payload["prompt"], user=job.user, state=state)
        await _quietly(
            client.chat_update(channel=job.channel, ts=status_ts(job), text=text, blocks=body)
        )

    async def _downloads(self, files: Any) -> tuple[tuple[str, bytes], ...]:
        """Attached files, fetched with the bot token (Slack's url_private needs it) —
        from Slack's own file host only, and never more than the size limit. Files
        that are not file objects: InputError, which the requester is told."""
        try:
            checked = attached_files(files)
        except InputError as exc:
            log.warning("Slack: a thread message's files could not be read (%s)", exc.detail)
            raise
        out = []
        headers = {"Authorization": f"Bearer {self.token}"}
        for f in checked:
            name = str(f.get("name") or "file")
            if int(f.get("size") or 0) > MAX_REFERENCE_BYTES:
                raise InputError("reference_too_large", name)
            url = f.get("url_private_download") or f.get("url_private") or ""
            if yarl.URL(url).host not in self.file_hosts:
                raise InputError("reference_missing", name)
            async with self.http.get(url, headers=headers) as resp:
                if resp.status != 200:
                    raise InputError("reference_missing", name)
                data = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > MAX_REFERENCE_BYTES:
                        raise InputError("reference_too_large", name)
            out.append((name, bytes(data)))
        return tuple(out)

    async def _tell(
        self, client: AsyncWebClient, channel: str, user: str, thread: str | None, words: str
    ) -> None:
        text, body = blocks.notice_text(words)
        await _quietly(
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread, text=text, blocks=body
            )
        )


def _queued(answer: Queued) -> Taken:
    words = QUEUED_IN_THREAD.format(state=queued_state(answer.position))
    if not answer.position or answer.position < 2:
        return Taken(words, queued=True)
    return Taken(words, answer.job, answer.position, queued=True)


def _unescape(text: str) -> str:
    """Slack's escaping undone: ``<url|label>`` → label, ``<#C1|name>`` → #name, entities."""
    text = re.sub(r"<(?:#\w+\|([^>]*)|[^@!#>|][^>|]*\|([^>]*)|([^@!#>][^>|]*))>", _link, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _link(match: re.Match[str]) -> str:
    channel, label, bare = match.groups()
    return f"#{channel}" if channel is not None else (label if label is not None else bare)


def _without_mentions(text: str) -> str:
    return " ".join(re.sub(r"<@[UW][A-Z0-9]+>", " ", text).split())


async def _quietly(call: Any) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("Slack call failed (%s)", type(exc).__name__)
