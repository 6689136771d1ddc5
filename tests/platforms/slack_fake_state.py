"""What the Slack fake remembers, and the Web API methods that change it.

No aiohttp here: ``SlackState.call(method, args, token)`` answers like Slack's
Web API would (status, JSON body, headers); ``slack_fake.FakeSlack`` puts it
on the wire. Tests read the state directly (``messages``, ``files``, ...) and
wait on it with ``wait_for`` (woken by every change to the fake).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.platforms.slack_fake_files import ApiError, FileUploads
from tests.platforms.slack_fake_wire import (
    MAX_TEXT,
    USER_ID,
    StoredFile,
    Workspace,
    json_arg,
    slack_file,
    user_object,
    validate_blocks,
)

T = TypeVar("T")
Json = dict[str, Any]
Handler = Callable[[Json], Json]
RECHECK = 0.05  # seconds between re-checks of a wait_for predicate nobody signalled


@dataclass(frozen=True)
class Failure:
    error: str
    status: int
    retry_after: int | None


@dataclass(frozen=True)
class Reply:
    status: int
    body: Json
    headers: dict[str, str]


class SlackState(FileUploads):
    def __init__(self, workspace: Workspace | None = None) -> None:
        self.ws = workspace or Workspace()
        self.base_url = "http://127.0.0.1:0/"  # replaced once the server listens
        self.calls: list[tuple[str, Json]] = []  # (method, args as sent, minus the token)
        self.messages: defaultdict[str, list[Json]] = defaultdict(list)
        self.updates: list[Json] = []  # a snapshot (with "channel") after every chat.update
        self.ephemerals: list[Json] = []
        self.files: dict[str, StoredFile] = {}
        self.deleted: list[Json] = []
        self.users: dict[str, Json] = {}  # user_id -> overrides, e.g. {"is_admin": True}
        self.responses: list[tuple[str, Json]] = []  # (response_url, JSON body) POSTed there
        self.acks: dict[str, Json] = {}  # envelope_id -> what the Socket Mode client sent back
        self.downloads: list[tuple[str, bool]] = []  # (file_id, had the bot token)
        self._failures: defaultdict[str, deque[Failure]] = defaultdict(deque)
        self.late: dict[str, float] = {}  # method (or "upload") -> seconds its answer waits
        self._changed = asyncio.Event()
        self._clock = 1_700_000_000_000_000  # microseconds; ts strings are derived from it
        self._ids = 0
        self.tickets: set[str] = set()  # issued by apps.connections.open
        self._methods: dict[str, tuple[str, Handler]] = {
            "auth.test": ("bot", self._auth_test),
            "chat.postMessage": ("bot", self._post_message),
            "chat.update": ("bot", self._update),
            "chat.delete": ("bot", self._delete),
            "chat.postEphemeral": ("bot", self._post_ephemeral),
            "users.info": ("bot", self._users_info),
            "conversations.replies": ("bot", self._replies),
            "files.getUploadURLExternal": ("bot", self._get_upload_url),
            "files.completeUploadExternal": ("bot", self._complete_upload),
            "apps.connections.open": ("app", self._connections_open),
        }

    # -- test-facing ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int | None = 1,
    ) -> None:
        """Make the next call of ``method`` fail. ``status`` defaults to what Slack sends:
        429 (with ``Retry-After``) for ``ratelimited``, else 200 with ``ok: false``.
        ``method`` may also be ``"upload"`` (raw upload URL) or ``"response_url"``."""
        code = status if status is not None else (429 if error == "ratelimited" else 200)
        self._failures[method].append(Failure(error, code, retry_after if code == 429 else None))

    def answer_late(self, method: str, seconds: float) -> None:
        """Answer ``method`` (or ``"upload"``, the raw upload URL) ``seconds`` late: the
        call takes effect at once, its answer waits (0: on time again)."""
        self.late[method] = seconds

    def find_message(self, channel: str, ts: str) -> Json | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def thread(self, channel: str, thread_ts: str) -> list[Json]:
        """Parent and replies, oldest first (what conversations.replies returns)."""
        return [
            m
            for m in self.messages.get(channel, [])
            if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
        ]

    def bot_messages(self, channel: str) -> list[Json]:
        return [m for m in self.messages.get(channel, []) if m.get("bot_id") == self.ws.bot_id]

    def method_calls(self, method: str) -> list[Json]:
        return [args for name, args in self.calls if name == method]

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is this helper's whole point
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value. Every change to the
        fake wakes it; it also re-checks every 50 ms, so the predicate may read bot state."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [name for name, _ in self.calls[-8:]]
                raise TimeoutError(f"not met within {timeout}s; last calls: {recent}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(RECHECK, remaining)):
                    await changed.wait()

    # -- plumbing ------------------------------------------------------------------------

    def touch(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def next_ts(self) -> str:
        self._clock += 100
        return f"{self._clock // 1_000_000}.{self._clock % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}0{self._ids:09d}"

    def take_failure(self, key: str) -> Failure | None:
        queue = self._failures.get(key)
        return queue.popleft() if queue else None

    def call(self, method: str, args: Json, token: str | None) -> Reply:
        self.calls.append((method, args))
        self.touch()
        headers = {"X-OAuth-Scopes": self.ws.scopes, "X-Accepted-OAuth-Scopes": ""}
        failure = self.take_failure(method)
        if failure is not None:
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            return Reply(failure.status, {"ok": False, "error": failure.error}, headers)
        spec = self._methods.get(method)
        if spec is None:
            return Reply(200, {"ok": False, "error": "unknown_method", "req_method": method}, {})
        kind, handler = spec
        try:
            self._check_token(token, kind)
            body = handler(args)
        except ApiError as exc:
            return Reply(200, exc.body, headers)
        self.touch()
        return Reply(200, body, headers)

    def _check_token(self, token: str | None, kind: str) -> None:
        if not token:
            raise ApiError("not_authed")
        if token not in (self.ws.bot_token, self.ws.app_token):
            raise ApiError("invalid_auth")
        if (token == self.ws.app_token) != (kind == "app"):
            raise ApiError("not_allowed_token_type")

    def store_message(
        self,
        channel: str,
        *,
        text: str,
        user: str | None = None,
        blocks: list[Json] | None = None,
        thread_ts: str | None = None,
        files: list[Json] | None = None,
    ) -> Json:
        """Append a message (the bot's when ``user`` is None) and keep thread counters."""
        msg: Json = {"type": "message", "ts": self.next_ts(), "text": text}
        if user is None:
            msg.update(user=self.ws.bot_user_id, bot_id=self.ws.bot_id, app_id=self.ws.api_app_id)
        else:
            msg["user"] = user
        msg["team"] = self.ws.team_id
        if blocks is not None:
            msg["blocks"] = blocks
        if files:
            msg["files"] = files
            msg["upload"] = user is None
        if thread_ts:
            msg["thread_ts"] = thread_ts
            parent = self.find_message(channel, thread_ts)
            if parent is not None:
                msg["parent_user_id"] = parent.get("user")
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = msg["ts"]
        self.messages[channel].append(msg)
        self.touch()
        return msg

    def _blocks(self, args: Json) -> list[Json] | None:
        if args.get("blocks") in (None, ""):
            return None
        try:
            blocks = json_arg(args["blocks"])
        except ValueError:
            raise ApiError("invalid_blocks_format") from None
        errors = validate_blocks(blocks, self._slack_file)
        if errors:
            raise ApiError(
                "invalid_blocks",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        assert isinstance(blocks, list)
        return blocks

    def _slack_file(self, ref: Json) -> StoredFile | None:
        return slack_file(self.files.values(), ref, self.ws, self.base_url)

    # -- Web API methods -----------------------------------------------------------------

    def _auth_test(self, args: Json) -> Json:
        ws = self.ws
        return {
            "ok": True,
            "url": f"https://{ws.team_domain}.slack.com/",
            "team": ws.team_name,
            "user": ws.bot_name,
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: Json) -> Json:
        channel = str(args.get("channel") or "")
        if not channel:
            raise ApiError("channel_not_found")
        text, blocks = str(args.get("text") or ""), self._blocks(args)
        if not text and not blocks and not args.get("attachments"):
            raise ApiError("no_text")
        if len(text) > MAX_TEXT:
            raise ApiError("msg_too_long")
        msg = self.store_message(
            channel, text=text, blocks=blocks, thread_ts=args.get("thread_ts") or None
        )
        return {"ok": True, "channel": channel, "ts": msg["ts"], "message": copy.deepcopy(msg)}

    def _update(self, args: Json) -> Json:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        msg = self.find_message(channel, ts)
        if msg is None:
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.ws.bot_id:
            raise ApiError("cant_update_message")
        blocks = self._blocks(args)
        if "text" in args:
            msg["text"] = str(args["text"] or "")
        if "blocks" in args:  # omitted blocks are kept; [] removes them (Slack's rule)
            msg["blocks"] = blocks or []
        msg["edited"] = {"user": self.ws.bot_user_id, "ts": self.next_ts()}
        self.updates.append({"channel": channel, **copy.deepcopy(msg)})
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": msg["text"],
            "message": copy.deepcopy(msg),
        }

    def _delete(self, args: Json) -> Json:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        msg = self.find_message(channel, ts)
        if msg is None:
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.ws.bot_id:
            raise ApiError("cant_delete_message")
        self.messages[channel].remove(msg)
        self.deleted.append({"channel": channel, **copy.deepcopy(msg)})
        return {"ok": True, "channel": channel, "ts": ts}

    def _post_ephemeral(self, args: Json) -> Json:
        channel, user = str(args.get("channel") or ""), str(args.get("user") or "")
        if not channel:
            raise ApiError("channel_not_found")
        if not USER_ID.match(user):
            raise ApiError("user_not_found")
        text, blocks = str(args.get("text") or ""), self._blocks(args)
        if not text and not blocks and not args.get("attachments"):
            raise ApiError("no_text")
        ts = self.next_ts()
        self.ephemerals.append(
            {
                "channel": channel,
                "user": user,
                "text": text,
                "blocks": blocks,
                "thread_ts": args.get("thread_ts") or None,
                "message_ts": ts,
            }
        )
        return {"ok": True, "message_ts": ts}

    def _users_info(self, args: Json) -> Json:
        user_id = str(args.get("user") or "")
        if not USER_ID.match(user_id):
            raise ApiError("user_not_found")
        return {"ok": True, "user": user_object(self.ws, user_id, self.users.get(user_id, {}))}

    def _replies(self, args: Json) -> Json:
        """The parent, then its replies from ``oldest`` (``inclusive``), ``limit`` a page
        (Slack's cap for apps outside the Marketplace: 15), paged by ``cursor``."""
        thread = self.thread(str(args.get("channel") or ""), str(args.get("ts") or ""))
        if not thread:
            raise ApiError("thread_not_found")
        parent, replies = thread[0], thread[1:]
        oldest = float(args.get("oldest") or 0)
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        replies = [m for m in replies if (float(m["ts"]) - oldest) >= (0 if inclusive else 1e-7)]
        limit = min(int(args.get("limit") or 15), 15)
        start = int(args.get("cursor") or 0)
        page = ([parent] if start == 0 else []) + replies[start : start + limit]
        more = start + limit < len(replies)
        body: Json = {"ok": True, "messages": copy.deepcopy(page), "has_more": more}
        body["response_metadata"] = {"next_cursor": str(start + limit) if more else ""}
        return body

    def _connections_open(self, args: Json) -> Json:
        ticket = self._next_id("ticket-").lower()
        self.tickets.add(ticket)
        ws_url = self.base_url.replace("http://", "ws://")
        return {"ok": True, "url": f"{ws_url}link/?ticket={ticket}&app_id={self.ws.api_app_id}"}
