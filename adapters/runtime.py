"""``imagine-bot run``: the chat platforms, the job runner, the announcer and the
bot's web server (``GET /healthz``; ``POST /slack/events`` in Slack's HTTP mode),
started together and stopped in order on SIGTERM / SIGINT:

    stop taking requests (Socket Mode, web server) → running jobs get
    IMAGINE_SHUTDOWN_GRACE_S to finish (the rest resume at the next start)
    → announcer → store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from adapters.compose import App, open_app
from adapters.discord.app import build_discord
from adapters.slack.app import build_slack
from bot.announcer import Announcer, StatusPoster
from bot.config import Settings
from bot.errors import ConfigError
from bot.freshness import ShutdownNotice
from bot.notice_log import NoticeLog
from bot.router import Router
from bot.status_text import status_view
from bot.store import Store

log = logging.getLogger(__name__)


class Platform(Protocol):
    sink: Any

    def mount(self, web_app: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def close_http(self) -> None: ...


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


def web_app(router: Router, platforms: list[Platform]) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        """200 while the process serves (a liveness probe must not restart the bot
        because a vendor is down); ``?strict=1``: 503 when no model is up."""
        body = health_json(router)
        strict = request.query.get("strict", "") not in ("", "0", "false")
        return web.json_response(body, status=503 if strict and not body["ok"] else 200)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    for platform in platforms:
        platform.mount(app)
    return app


def platforms_for(app: App, settings: Settings) -> list[Platform]:
    found: list[Platform] = []
    slack = build_slack(app, settings)
    if slack is not None:
        found.append(slack)
    discord = build_discord(app, settings)
    if discord is not None:
        found.append(discord)
    if not found:
        raise ConfigError(
            "no chat platform is configured: set DISCORD_TOKEN, or SLACK_BOT_TOKEN with "
            "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode); see README"
        )
    return found


WEEK_S = 7 * 86400.0


def shutdown_announcer(
    store: Store, announcer: Announcer
) -> Callable[[list[ShutdownNotice]], Awaitable[None]]:
    """Each coming shutdown is said in the status channels once per model per week."""
    log_ = NoticeLog(store)

    async def say(notices: list[ShutdownNotice]) -> None:
        for notice in notices:
            if await log_.claim(f"shutdown:{notice.model}:{notice.on}", every_s=WEEK_S):
                await announcer.post(notice.text)

    return say


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event,
    started: Callable[[App, int], Awaitable[None]] | None = None,
) -> None:
    """Run until ``stop`` is set. ``started(app, port)`` is called once all is up."""
    async with open_app(settings) as app:
        for warning in app.warnings:
            log.warning("%s", warning)
        platforms = platforms_for(app, settings)
        posters: list[StatusPoster] = [p.sink for p in platforms]
        runner = web.AppRunner(
            web_app(app.router, platforms), handle_signals=False, shutdown_timeout=5.0
        )
        await runner.setup()
        site = web.TCPSite(runner, settings.imagine_http_host, settings.imagine_http_port)
        announcer = Announcer(
            app.router.board,
            app.guilds,
            posters,
            settle_s=settings.imagine_announce_settle_s,
            cooldown_s=settings.imagine_announce_cooldown_s,
        )
        try:
            await site.start()
            port = runner.addresses[0][1] if runner.addresses else settings.imagine_http_port
            log.info("web server on %s:%s (/healthz)", settings.imagine_http_host, port)
            for platform in platforms:  # requests wait in submit until recovery is done
                await platform.start()
            recovery = await app.service.start()
            if not recovery.empty:
                log.info("after the restart: %s", recovery)
            announcer.start()
            app.freshness.start(shutdown_announcer(app.store, announcer))
            if started is not None:
                await started(app, port)
            await stop.wait()
            log.info("stopping: no new requests; jobs get %ss", settings.imagine_shutdown_grace_s)
        finally:
            for platform in platforms:
                await platform.aclose()
            await runner.cleanup()
            await app.service.aclose(grace_s=settings.imagine_shutdown_grace_s)
            await app.freshness.aclose()
            await announcer.aclose()
            for platform in platforms:
                await platform.close_http()


async def run(settings: Settings) -> int:
    """Until SIGTERM / SIGINT (graceful); a second signal stops at once (jobs cut off
    then resume at the next start)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal() -> None:
        if not stop.is_set():
            stop.set()
        elif main is not None:
            log.warning("second signal: stopping now; unfinished jobs resume at the next start")
            main.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    try:
        await serve(settings, stop=stop)
    except asyncio.CancelledError:
        return 1
    return 0
