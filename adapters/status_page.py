"""The live status page on the bot's web server:

- ``GET /status``: the page (``adapters.status_html``), first view rendered here;
- ``GET /status.json``: the same view as JSON (``bot.status_history.status_document``);
- ``GET /status/events``: server-sent events — one ``status`` event at once, then
  one after every health event and every sample (every few seconds).

The history (``StatusHistory``) is sampled by its own task, owned by the aiohttp
app (``cleanup_ctx``: started with the server, cancelled with it) unless one is
given. Open event streams are tracked; at server shutdown (``on_shutdown``, before
aiohttp waits for its handlers) each is told to end, so stopping never hangs on a
browser that keeps the page open.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters.status_html import CSP, page
from bot.router import Router
from bot.status_history import StatusHistory, status_document
from bot.status_text import status_view

__all__ = ["StatusStreams", "add_status_routes"]

log = logging.getLogger(__name__)

PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class StatusStreams:
    """The open ``/status/events`` streams; each waits on its own wake-up."""

    def __init__(self, router: Router, history: StatusHistory) -> None:
        self.router, self.history = router, history
        self._open: set[asyncio.Event] = set()
        self._closing = False
        self._cached: tuple[int, bytes] | None = None
        self._version = 0

    def __len__(self) -> int:
        return len(self._open)

    def document(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        return status_document(status_view(self.router.board, now), self.history, now)

    def changed(self) -> None:
        """The history's listener: wake every stream (never blocks)."""
        self._version += 1
        for wake in self._open:
            wake.set()

    def _frame(self) -> bytes:
        """The current document as one SSE event; built once per change for all streams."""
        if self._cached is None or self._cached[0] != self._version:
            data = json.dumps(self.document(), ensure_ascii=False, separators=(",", ":"))
            self._cached = (self._version, f"event: status\ndata: {data}\n\n".encode())
        return self._cached[1]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # nginx: pass each event on at once
            }
        )
        await response.prepare(request)
        wake = asyncio.Event()
        self._open.add(wake)
        try:
            await response.write(b"retry: 2000\n\n")
            while not self._closing:
                await response.write(self._frame())
                await wake.wait()
                wake.clear()
        except ConnectionError:  # the browser went away (found at the next write)
            pass
        finally:
            self._open.discard(wake)
        return response

    async def close(self, _app: web.Application | None = None) -> None:
        """Server shutdown: every stream ends after what it is writing."""
        self._closing = True
        for wake in self._open:
            wake.set()


def add_status_routes(
    app: web.Application, router: Router, history: StatusHistory | None = None
) -> StatusStreams:
    """``/status``, ``/status.json``, ``/status/events`` on ``app``. Without ``history``
    one is made and owned by ``app`` (sampled while it serves)."""
    if history is None:
        history = StatusHistory(router.board)
        owned = history

        async def sampling(_app: web.Application) -> AsyncIterator[None]:
            owned.start()
            yield
            await owned.aclose()

        app.cleanup_ctx.append(sampling)
    streams = StatusStreams(router, history)
    history.listen(streams.changed)
    app.on_shutdown.append(streams.close)

    async def status_page(_request: web.Request) -> web.Response:
        body = page(streams.document())
        return web.Response(text=body, content_type="text/html", headers=PAGE_HEADERS)

    async def status_json(_request: web.Request) -> web.Response:
        return web.json_response(streams.document(), headers={"Cache-Control": "no-store"})

    app.router.add_get("/status", status_page)
    app.router.add_get("/status.json", status_json)
    app.router.add_get("/status/events", streams.handle)
    return streams
