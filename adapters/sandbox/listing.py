"""Model lists: Gemini ``ListModels`` / ``GetModel`` and OpenAI ``GET /v1/models``.

Gemini: ``GET /{v1|v1beta|v1alpha}/models`` with ``pageSize`` (default 50, at
most 1000) and ``pageToken``; ``nextPageToken`` only when more follow.
``GET /{version}/models/{id}`` answers one entry or the 404 NOT_FOUND.
OpenAI: ``GET /v1/models`` (no paging) and ``GET /v1/models/{id}``, entries
with ``shutdown_date``; 404 ``model_not_found`` for anything not served.

Both vendors use ``/v1/models``: a request there belongs to Gemini if it
carries a Google key (``x-goog-api-key`` or ``?key=``) or Gemini's paging
parameters, and to OpenAI otherwise. Auth is checked before anything else,
exactly as for generation. These requests go to ``sb.lookups`` (``path``
with the query string), not ``sb.calls`` (which holds generation calls only).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict

from adapters.sandbox import gemini, openai_images
from adapters.sandbox.models import gemini_entry, openai_entry
from adapters.sandbox.records import Call

if TYPE_CHECKING:
    from adapters.sandbox.server import Sandbox

GEMINI_VERSIONS = frozenset({"v1", "v1beta", "v1alpha"})
DEFAULT_PAGE, MAX_PAGE = 50, 1000
_TOKEN_PREFIX = "sbx-page:"


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{offset}".encode()).decode("ascii")


def page_offset(token: str) -> int | None:
    """The offset a ``page_token`` stands for; None if it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    number = text.removeprefix(_TOKEN_PREFIX)
    if number == text or not number.isdigit():
        return None
    return int(number)


def is_gemini(request: web.Request) -> bool:
    if request.match_info["version"] != "v1":
        return True
    query = request.query
    return bool(
        request.headers.get("x-goog-api-key")
        or "key" in query
        or "pageSize" in query
        or "pageToken" in query
    )


class ModelLists:
    """The handlers for ``GET /{version}/models`` and ``GET /{version}/models/{model}``."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb

    async def handle(self, request: web.Request) -> web.Response:
        api = "gemini" if is_gemini(request) else "openai"
        model = request.match_info.get("model", "")
        call = Call(
            api=api,
            path=request.path_qs,
            started=self.sb.clock(),
            headers=CIMultiDict(request.headers),
            model=model,
        )
        self.sb.record(self.sb.lookups, call)
        try:
            if api == "gemini":
                outcome, response = self._gemini(request, model)
            else:
                outcome, response = self._openai(request, model)
            call.outcome, call.status = outcome, response.status
            return response
        finally:
            call.finished = self.sb.clock()

    def _gemini(self, request: web.Request, model: str) -> tuple[str, web.Response]:
        version = request.match_info["version"]
        if version not in GEMINI_VERSIONS:
            return "invalid", gemini.error(404, "NOT_FOUND", f"Method not found: {request.path}")
        denied = gemini.GeminiApi().check_auth(request, self.sb.api_keys)
        if denied is not None:
            return "unauthorized", denied
        registry = self.sb.registry
        if model:
            offer = registry.live(model, "gemini")
            if offer is None:
                return "not_found", gemini.not_found(model, version)
            return "ok", web.json_response(gemini_entry(offer))
        try:
            size = int(request.query.get("pageSize", "0"))
        except ValueError:
            size = -1
        if size < 0:
            value = request.query.get("pageSize")
            message = f"Invalid value at 'page_size' (TYPE_INT32), \"{value}\""
            return "invalid", gemini.error(400, "INVALID_ARGUMENT", message)
        size = min(size or DEFAULT_PAGE, MAX_PAGE)
        token = request.query.get("pageToken", "")
        offset = page_offset(token) if token else 0
        if offset is None:
            return "invalid", gemini.error(400, "INVALID_ARGUMENT", "Invalid page token.")
        offers = registry.listed("gemini")
        body: dict[str, Any] = {"models": [gemini_entry(o) for o in offers[offset : offset + size]]}
        if offset + size < len(offers):
            body["nextPageToken"] = page_token(offset + size)
        return "ok", web.json_response(body)

    def _openai(self, request: web.Request, model: str) -> tuple[str, web.Response]:
        denied = openai_images.check_auth(request, self.sb.api_keys)
        if denied is not None:
            return "unauthorized", denied
        registry = self.sb.registry
        if model:
            offer = registry.live(model, "openai")
            if offer is None:
                return "not_found", openai_images.not_found(model)
            return "ok", web.json_response(openai_entry(offer))
        data = [openai_entry(o) for o in registry.listed("openai")]
        return "ok", web.json_response({"object": "list", "data": data})
