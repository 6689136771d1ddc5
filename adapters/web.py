"""The bot's web server: ``GET /healthz``, the live status page (``/status``,
``/status.json``, ``/status/events``: ``adapters.status_page``) and what the
platforms mount on it (Slack's ``POST /slack/events`` in HTTP mode). With a
token every route but ``/healthz`` and ``/slack/events`` needs it
(``adapters.web_guard``); the access log never shows a query string."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters.status_page import add_status_routes
from adapters.web_guard import RedactedAccessLogger, token_guard
from bot.router import Router
from bot.status_history import StatusHistory
from bot.status_text import status_view

Mount = Callable[[web.Application], None]


def health_json(router: Router) -> dict[str, Any]:
    view = status_view(router.board, datetime.now(UTC))
    return {
        "ok": view.online > 0,
        "primary": view.primary,
        "online": view.online,
        "total": view.total,
        "models": [
            {"model": r.label, "state": r.state_word, "p50": r.p50, "success": r.success}
            for r in view.rows
        ],
    }


def web_app(
    router: Router,
    mounts: Iterable[Mount] = (),
    *,
    token: str | None = None,
    history: StatusHistory | None = None,
) -> web.Application:
    """``token``: what every page but ``/healthz`` and ``/slack/events`` needs (None:
    none, for a server on 127.0.0.1). ``history``: the status page's (None: the app
    makes and samples its own while it serves)."""

    async def healthz(request: web.Request) -> web.Response:
        """200 while the process serves (a liveness probe must not restart the bot
        because a vendor is down); ``?strict=1``: 503 when no model is up."""
        body = health_json(router)
        strict = request.query.get("strict", "") not in ("", "0", "false")
        return web.json_response(body, status=503 if strict and not body["ok"] else 200)

    app = web.Application(middlewares=[token_guard(token)] if token else [])
    app.router.add_get("/healthz", healthz)
    add_status_routes(app, router, history)
    for mount in mounts:
        mount(app)
    return app


@asynccontextmanager
async def web_server(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve ``app`` on ``host:port`` until the block ends; yields the port it got
    (``port`` 0: a free one)."""
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=5.0, access_log_class=RedactedAccessLogger
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield runner.addresses[0][1] if runner.addresses else port
    finally:
        await runner.cleanup()
