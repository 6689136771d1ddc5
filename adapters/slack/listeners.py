"""What the bot does with each Slack request: ``/imagine``, thread edits, buttons.

Every listener answers Slack within its 3 s (``ack``) and turns the request into
a job: the job's status message is posted first (its ``ts`` is the thread and
the place progress shows), then ``ImagineService.submit`` queues it. A refusal
(bad input, quota) is told to the requester alone, and nothing is queued or
charged. The platform event's id keys the job, so a retried delivery makes no
second job.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.options import parse
from bot.commands import UPSCALE_PROMPT, VARY_PROMPT, ImagineCommand, Requester
from bot.errors import ImagineError, InputError
from bot.jobs import Job
from bot.messages import JOB_GONE, user_error
from bot.service import ImagineService, Ticket
from bot.validate import MAX_REFERENCE_BYTES, build_request

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = "I can't post in this channel yet — invite me with `/invite @imagine-bot`."
SLACK_TROUBLE = "Slack didn't let me post the image's message just now — please try again."
CANT_POST = {
    "not_in_channel": NOT_IN_CHANNEL,
    "channel_not_found": NOT_IN_CHANNEL,
    "is_archived": "This channel is archived, so I can't post in it.",
    "ratelimited": "Slack is busy right now — please try again in a minute.",
}
ACK_WITHIN_S = 2.0  # Slack wants the ack within 3 s


async def ack_within(ack: Any, respond: Any, work: Awaitable[Any]) -> None:
    """Ack with ``work``'s answer (words, or ``{"text", "blocks"}``) if it comes in
    time; else ack at once and send the answer, seen by the requester alone, through
    the response URL when it comes."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait([task], timeout=ACK_WITHIN_S)
    if not done:
        await ack("Working on it…")
    answer = await task
    fields = answer if isinstance(answer, dict) else {"text": answer}
    if done:
        await ack(**fields)
    else:
        await respond(**fields, response_type="ephemeral", replace_original=False)


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
            build_request(parsed.prompt, aspect=parsed.aspect, size=parsed.size)
        except InputError as exc:
            await ack(user_error(exc).message)
            return
        who = Requester("slack", team, user)
        cmd = ImagineCommand(who, parsed.prompt, parsed.aspect, parsed.size)
        key = f"command:{body.get('trigger_id') or body.get('response_url')}"
        await ack_within(ack, respond, self._start(client, cmd, channel, None, key, "imagine"))

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
        if not await self.service.jobs.in_thread("slack", team, channel, thread):
            return
        user = event["user"]
        try:
            refs = await self._downloads(event.get("files") or [])
            text = _without_mentions(_unescape(event.get("text", "")))
            cmd = ImagineCommand(Requester("slack", team, user), text, references=refs)
            build_request(cmd.prompt, references=refs)
        except InputError as exc:
            await self._tell(client, channel, user, thread, user_error(exc).message)
            return
        said = await self._start(
            client, cmd, channel, thread, f"event:{body.get('event_id')}", "edit"
        )
        if not said.startswith("Queued"):
            await self._tell(client, channel, user, thread, said)

    async def mention(self) -> None:
        """Mentions arrive as ``message`` events too; this listener just marks them handled."""

    # -- Retry · Vary · Upscale 4K ----------------------------------------------
    async def button(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user, channel = body["user"]["id"], body["channel"]["id"]
        team = (body.get("team") or {}).get("id") or body.get("user", {}).get("team_id", "")
        job = await self.service.jobs.get(action.get("value", ""))
        if job is None or job.platform != "slack" or job.workspace != team:
            await self._tell(client, channel, user, None, JOB_GONE)
            return
        who, p = Requester("slack", team, user), job.payload
        refs = tuple(
            (f"reference-{n}", ref.data)
            for n, ref in enumerate(await self.service.jobs.load_references(job), start=1)
        )
        name = action["action_id"]
        thread: str | None = job.thread
        if name == blocks.VARY:
            cmd, kind = ImagineCommand(who, VARY_PROMPT, p.get("aspect"), p.get("size")), "vary"
        elif name == blocks.UPSCALE:
            cmd, kind = ImagineCommand(who, UPSCALE_PROMPT, p.get("aspect"), "4K"), "upscale"
        else:  # Retry: an /imagine again in a new thread; a failed edit again in its thread
            cmd = ImagineCommand(who, p["prompt"], p.get("aspect"), p.get("size"), refs)
            kind = job.kind
            thread = None if job.kind == "imagine" else job.thread
        key = f"action:{name}:{action.get('action_ts')}:{user}"
        said = await self._start(client, cmd, channel, thread, key, kind)
        if not said.startswith("Queued"):
            await self._tell(client, channel, user, thread, said)

    # -- shared ----------------------------------------------------------------
    async def _start(
        self,
        client: AsyncWebClient,
        cmd: ImagineCommand,
        channel: str,
        thread: str | None,
        key: str,
        kind: str,
    ) -> str:
        """Queue the job; once it is accepted, post its status message (so a refused
        request never shows in the channel). What to tell the requester."""
        posted: list[str] = []

        async def place(job: Job) -> tuple[str, dict[str, Any]]:
            text, body = blocks.job_blocks(
                prompt=cmd.prompt, user=cmd.requester.user, state="Queued"
            )
            answer = await client.chat_postMessage(
                channel=channel, thread_ts=thread, text=text, blocks=body
            )
            posted.append(answer["ts"])
            return thread or answer["ts"], {"status_ts": answer["ts"]}

        try:
            ticket = await self.service.submit(
                cmd,
                channel=channel,
                thread=thread or "",
                idempotency_key=key,
                kind=kind,
                place=place,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            log.warning("could not post in %s (%s)", channel, error)
            return CANT_POST.get(error, SLACK_TROUBLE)
        except ImagineError as exc:
            return user_error(exc).message
        except BaseException as exc:  # never leave a "Queued" message without a job
            for ts in posted:
                await _quietly(client.chat_delete(channel=channel, ts=ts))
            if not isinstance(exc, Exception):
                raise
            log.error("could not queue a job (%s)", type(exc).__name__, exc_info=exc)
            return user_error(exc).message
        if not ticket.created:  # Slack delivered this again: the first job stands
            return "Already on it."
        return await self._queued(client, ticket, cmd, channel, posted[0])

    async def _queued(
        self, client: AsyncWebClient, ticket: Ticket, cmd: ImagineCommand, channel: str, ts: str
    ) -> str:
        place = f"Queued (#{ticket.position})" if ticket.position else "Queued"
        if ticket.position and ticket.position > 1 and self.service.runner.position(ticket.job.id):
            text, body = blocks.job_blocks(prompt=cmd.prompt, user=cmd.requester.user, state=place)
            await _quietly(client.chat_update(channel=channel, ts=ts, text=text, blocks=body))
        return f"{place} — the image will appear in the thread."

    async def _downloads(self, files: list[dict[str, Any]]) -> tuple[tuple[str, bytes], ...]:
        """Attached files, fetched with the bot token (Slack's url_private needs it) —
        from Slack's own file host only, and never more than the size limit."""
        out = []
        headers = {"Authorization": f"Bearer {self.token}"}
        for f in files:
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
