"""Signed but malformed: what the listeners need from a payload, checked before
Bolt matches it to one (Bolt's own matchers index ``actions[0]``).

A payload missing what identifies its request — who, where, which button — is
answered the way Slack expects and logged as one warning line, never a
traceback:

- a slash command → its 200 body, which Slack shows to the person alone;
- a button click → a 200 ack, then a note through its ``response_url`` (seen by the
  clicker alone) when it has one;
- an event → a silent 200 (Slack retries anything else; there is nobody to tell).

What the requester can still be told about — files on a message in an image's
thread that are not file objects — is checked when they are fetched
(``attached_files``): the refusal reaches them privately, like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.errors import InputError
from bot.messages import user_error

log = logging.getLogger(__name__)

RESPOND_WITHIN_S = 2.0  # the note goes out before the ack: keep inside Slack's 3 s
MESSAGE_EVENTS = ("message", "app_mention")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _optional_text(body: dict[str, Any], *keys: str) -> str | None:
    bad = [k for k in keys if k in body and body[k] is not None and not isinstance(body[k], str)]
    return f"{bad[0]} is not text" if bad else None


def problem(body: dict[str, Any]) -> tuple[str, str] | None:
    """``(kind, what is wrong)`` for a payload our listeners cannot use; None if usable."""
    if "command" in body:
        missing = [k for k in ("team_id", "user_id", "channel_id") if not _text(body.get(k))]
        if missing:
            return "command", f"no {missing[0]}"
        bad = _optional_text(body, "text", "command")
        return ("command", bad) if bad else None
    kind = body.get("type")
    if kind == "block_actions":
        actions, user, channel = body.get("actions"), body.get("user"), body.get("channel")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return "button click", "no actions"
        if not _text(actions[0].get("action_id")):
            return "button click", "no action_id"
        bad = _optional_text(actions[0], "value", "action_ts")
        if bad:
            return "button click", bad
        if not isinstance(user, dict) or not _text(user.get("id")):
            return "button click", "no user"
        if not isinstance(channel, dict) or not _text(channel.get("id")):
            return "button click", "no channel"
        return None
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _text(event.get("type")):
            return "event", "no event"
        if event["type"] in MESSAGE_EVENTS:
            if not _text(event.get("channel")):
                return "event", f"a {event['type']} without a channel"
            bad = _optional_text(event, "user", "text", "ts", "thread_ts", "subtype", "bot_id")
            return ("event", bad) if bad else None
    return None


class Screen(AsyncMiddleware):
    """Bolt global middleware: usable payloads go on, the rest are answered here. A
    class, not a function: Bolt builds a function middleware's arguments from the
    payload first (``action`` is ``body["actions"][0]``), which is what fails."""

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        found = problem(req.body)
        if found is None:
            return await next()
        return await answer(req.body, req.context, *found)


async def answer(
    body: dict[str, Any], context: AsyncBoltContext, kind: str, what: str
) -> BoltResponse:
    """What a malformed payload gets: see the module's docstring."""
    log.warning("Slack: ignored a malformed %s (%s)", kind, what)
    words = user_error(InputError("incomplete_request")).message
    if kind == "command":
        return BoltResponse(status=200, body=words)
    if kind == "button click" and isinstance(body.get("response_url"), str):
        respond = context.respond
        if respond is not None:
            try:
                await asyncio.wait_for(
                    respond(text=words, response_type="ephemeral", replace_original=False),
                    RESPOND_WITHIN_S,
                )
            except Exception as exc:
                log.warning("Slack: the note about it was not delivered (%s)", type(exc).__name__)
    return BoltResponse(status=200, body="")


def attached_files(files: Any) -> list[dict[str, Any]]:
    """A message's ``files``, checked: file objects with a whole-number ``size``
    (else InputError ``bad_attachment``, which the requester is told)."""
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise InputError("bad_attachment", "files is not a list of files")
    for f in files:
        size = f.get("size") or 0
        if isinstance(size, bool) or not isinstance(size, int | str):
            raise InputError("bad_attachment", "a size that is not a number")
        if isinstance(size, str) and not (size.isascii() and size.isdigit()):
            raise InputError("bad_attachment", "a size that is not a number")
        if not isinstance(f.get("name") or "", str):
            raise InputError("bad_attachment", "a name that is not text")
        url = f.get("url_private_download") or f.get("url_private") or ""
        if not isinstance(url, str):
            raise InputError("bad_attachment", "a link that is not text")
    return files
