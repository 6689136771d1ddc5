"""Gemini answers read no further than ``answer_cap``, through an aiohttp client middleware.

google-genai (3.6.1, read 2026-12-07: its aiohttp path, ``BaseApiClient._async_request``)
reads a non-streaming answer whole with ``await response.text()`` once its own
``raise_for_async_response`` has let a 200 through. The middleware gets the response
before that, headers read and body not:

- a ``Content-Length`` over the cap: closed unread;
- otherwise (chunked, or compressed, where the length says nothing of what it inflates to)
  the body is read here in ``READ_CHUNK`` pieces and the response closed as soon as more
  than the cap has arrived; a body within the cap is handed to the SDK as aiohttp keeps a
  read one, so its ``text()`` returns exactly those bytes.

Over the cap is ``too_large`` (an EmptyResult; ``gemini.map_error`` names the model).
``read_bufsize`` keeps aiohttp from buffering more than a few ``READ_CHUNK`` ahead of the
reader (google-genai asks for 4 MiB), so the process holds at most about the cap.

An error answer (not 200) is bounded too, at ``ERROR_CAP``. Google's errors are one
``google.rpc.Status`` object: code, message, details (Google's reference, checked
2026-12-07: https://googleapis.dev/ruby/google-apis-aiplatform_v1/v0.40.0/Google/Apis/
AiplatformV1/GoogleRpcStatus.html), far below the cap. A larger one (a relay's proxy's
page) is closed there and becomes ``aiohttp.ClientPayloadError``, a broken answer
(``gemini.map_error``: a server error, the next model). Streaming calls (``alt=sse``; the
adapter makes none) pass through untouched.
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientHandlerType, ClientPayloadError, ClientRequest, ClientResponse

from adapters.providers._common import too_large
from bot.errors import EmptyResult

READ_CHUNK = 64 * 1024
ERROR_CAP = 256 * 1024  # an error answer's body, at most


def capped_client_args(cap: int) -> dict[str, Any]:
    """google-genai's ``async_client_args``: the middleware and a small read buffer."""
    return {"middlewares": (cap_answers(cap),), "read_bufsize": READ_CHUNK}


def cap_answers(cap: int) -> Any:
    """An aiohttp client middleware: a 200 answer of more than ``cap`` bytes is closed
    as soon as that is known and becomes ``too_large``; a shorter one is read here whole."""

    async def middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        response = await handler(request)
        if request.url.query.get("alt") == "sse":
            return response
        limit = cap if response.status == 200 else ERROR_CAP
        length = response.content_length
        try:
            if length is not None and length > limit:
                raise too_large("", length, limit)
            keep_body(response, await read_capped(response, limit))
        except EmptyResult as exc:
            response.close()
            if response.status == 200:
                raise
            raise ClientPayloadError(f"an error answer ({response.status}) {exc}") from None
        return response

    return middleware


async def read_capped(response: ClientResponse, cap: int) -> bytes:
    """The body of ``response``, or ``too_large`` (and the response closed) once more
    than ``cap`` bytes of it have arrived."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.content.iter_chunked(READ_CHUNK):
            size += len(chunk)
            if size > cap:
                raise too_large("", size, cap)
            chunks.append(chunk)
    except BaseException:
        response.close()
        raise
    return b"".join(chunks)


def keep_body(response: ClientResponse, body: bytes) -> None:
    """Hand ``body`` to whoever reads ``response`` next: aiohttp's ``read()``, ``text()``
    and ``json()`` return ``ClientResponse._body`` once it is set, without touching the
    (now drained) stream. A private attribute, so guarded:
    ``tests/adapters/test_gemini_answer_cap.py`` fails if aiohttp stops honouring it."""
    response._body = body
