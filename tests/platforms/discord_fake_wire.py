"""HTTP plumbing of the fake Discord: exact JSON responses, errors, request recording,
bot-token auth, injected 429s and message-body validation."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from aiohttp import web

from tests.platforms.discord_fake_types import FormError, Json, Upload

API_PREFIX = "/api/v10"
BODY = web.RequestKey[Any]("body")  # parsed JSON, or multipart payload_json
UPLOADS = web.RequestKey[dict[int, Upload]]("uploads")  # multipart files[n]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim, and aiohttp's
    # json_response() would add "; charset=utf-8" (discord.py then sees a str, not a dict).
    all_headers = {"Content-Type": "application/json"} | (headers or {})
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


class ApiError(Exception):
    """A Discord JSON error: ``{"message": ..., "code": ...}`` with an HTTP status."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def response(self) -> web.Response:
        body: Json = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return json_response(body, self.status)


@dataclass
class FakeCall:
    """One request as the fake received it; ``path`` is relative to ``/api/v10``."""

    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    files: list[Upload] = field(default_factory=list)
    status: int = 0


@dataclass
class RateLimitRule:
    pattern: str  # "METHOD /path" glob, e.g. "POST /channels/*/messages"
    retry_after: float
    times: int
    is_global: bool
    via: bool

    def response(self) -> web.Response:
        scope = "global" if self.is_global else "user"
        headers = {
            "Retry-After": str(math.ceil(self.retry_after)),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
            "X-RateLimit-Scope": scope,
        }
        if self.is_global:
            headers["X-RateLimit-Global"] = "true"
        if self.via:  # without Via, discord.py assumes a Cloudflare ban and raises
            headers["Via"] = "1.1 google"
        body = {
            "message": "You are being rate limited.",
            "retry_after": self.retry_after,
            "global": self.is_global,
        }
        return json_response(body, 429, headers)


async def parse_body(request: web.Request) -> tuple[Any, dict[int, Upload]]:
    """JSON, or multipart with ``payload_json`` and ``files[n]`` parts (as discord.py sends)."""
    if not request.can_read_body:
        return None, {}
    if request.content_type == "application/json":
        try:
            return await request.json(), {}
        except ValueError as exc:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc
    if not request.content_type.startswith("multipart/"):
        return await request.text(), {}
    payload: Any = None
    uploads: dict[int, Upload] = {}
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            match = re.fullmatch(r"files\[(\d+)\]", name)
            index = int(match[1]) if match else len(uploads)
            uploads[index] = Upload(value.filename, value.file.read(), value.content_type)
        elif name == "payload_json":
            payload = json.loads(str(value))
    return payload, uploads


class Wire:
    def __init__(self, *, token: str, on_change: Callable[[], None]) -> None:
        self.token = token
        self.calls: list[FakeCall] = []
        self.rules: list[RateLimitRule] = []
        self.late: list[tuple[str, float]] = []  # ("METHOD /path-glob", seconds): uploads
        self.refusals: list[list[Any]] = []  # ["METHOD /path-glob", ApiError, times left]
        self._on_change = on_change

    def refuse_next(self, route: str, error: ApiError, *, times: int) -> None:
        self.refusals.append([route, error, times])

    def _take_refusal(self, call: FakeCall) -> ApiError | None:
        for rule in self.refusals:
            if rule[2] > 0 and fnmatchcase(f"{call.method} {call.path}", rule[0]):
                rule[2] -= 1
                return rule[1]  # type: ignore[no-any-return]
        return None

    def rate_limit_next(
        self, route: str, retry_after: float, *, times: int, is_global: bool, via: bool
    ) -> None:
        self.rules.append(RateLimitRule(route, retry_after, times, is_global, via))

    def _take_rule(self, call: FakeCall) -> RateLimitRule | None:
        for rule in self.rules:
            if rule.times > 0 and fnmatchcase(f"{call.method} {call.path}", rule.pattern):
                rule.times -= 1
                return rule
        return None

    def _needs_bot_auth(self, path: str) -> bool:
        open_prefixes = ("/webhooks/", "/interactions/", "/gateway")
        return not path.startswith(open_prefixes)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/gateway":  # the websocket: not a REST call
            return await handler(request)
        api = request.path.startswith(API_PREFIX)
        call = FakeCall(request.method, request.path.removeprefix(API_PREFIX), dict(request.query))
        self.calls.append(call)
        try:
            call.json, uploads = await parse_body(request)
            call.files = list(uploads.values())
            request[BODY], request[UPLOADS] = call.json, uploads
            rule = self._take_rule(call)
            refused = self._take_refusal(call)
            if rule is not None:
                response: web.StreamResponse = rule.response()
            elif refused is not None:
                response = refused.response()
            elif (
                api
                and self._needs_bot_auth(call.path)
                and (request.headers.get("Authorization") != f"Bot {self.token}")
            ):
                response = ApiError(401, 0, "401: Unauthorized").response()
            else:
                response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except FormError as exc:
            response = ApiError(400, 50035, "Invalid Form Body", exc.errors).response()
        except web.HTTPException as exc:  # unrouted paths and wrong methods
            response = ApiError(exc.status, 0, f"{exc.status}: {exc.reason}").response()
        call.status = response.status
        self._on_change()
        route = f"{call.method} {call.path}"
        late = next((t for p, t in self.late if call.files and fnmatchcase(route, p)), 0)
        if late:
            await asyncio.sleep(late)  # done already; only the answer is late
        return response


# --- message body validation (what Discord answers 400 / 413 to) ----------------------------


def _error(code: str, message: str) -> Json:
    return {"_errors": [{"code": code, "message": message}]}


def _put(errors: Json, path: tuple[str, ...], value: Json) -> None:
    node = errors
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _custom_ids(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "custom_id" and isinstance(value, str):
                yield (*path, key), value
            else:
                yield from _custom_ids(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _custom_ids(value, (*path, str(index)))


def validate_message(
    body: Json, uploads: dict[int, Upload], *, size_limit: int, creating: bool = True
) -> None:
    if any(len(u.data) > size_limit for u in uploads.values()):
        raise ApiError(413, 40005, "Request entity too large")
    errors: Json = {}
    content = body.get("content") or ""
    embeds = body.get("embeds") or []
    if len(content) > 2000:
        _put(
            errors, ("content",), _error("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        )
    if len(embeds) > 10:
        _put(errors, ("embeds",), _error("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."))
    for index, embed in enumerate(embeds):
        for key, limit in (("title", 256), ("description", 4096)):
            if len(str(embed.get(key) or "")) > limit:
                message = f"Must be {limit} or fewer in length."
                _put(errors, ("embeds", str(index), key), _error("BASE_TYPE_MAX_LENGTH", message))
    for path, custom_id in _custom_ids(body.get("components") or [], ("components",)):
        if not 1 <= len(custom_id) <= 100:
            message = "Must be between 1 and 100 in length."
            _put(errors, path, _error("BASE_TYPE_BAD_LENGTH", message))
    if errors:
        raise FormError(errors)
    parts = ("attachments", "components", "sticker_ids", "poll")
    if creating and not (content or embeds or uploads or any(body.get(p) for p in parts)):
        raise ApiError(400, 50006, "Cannot send an empty message")
