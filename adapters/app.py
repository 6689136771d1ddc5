"""The composition root: the one place that opens the bot's parts, in the style of
discord.py's ``examples/advanced_startup.py``. Each part is opened on one
``AsyncExitStack``, which closes them in reverse — on SIGTERM as on an error.

``imagine-bot run`` (``serve``)::

    platform settings (a bad one stops here, before anything opens)
    → the in-process sandbox (playground with no model keys only)
    → store → Redis (IMAGINE_REDIS_URL only) → quota ledger → router (providers)
    → shared health (Redis only) → sessions, workspace settings
    → platform clients and their sinks → announcer, model-list checks
    → service (the sinks passed in) → platform listeners (→ the service)
    → web server (/healthz, /slack/events) → platforms connect → jobs resume

and back: stop taking requests (platforms, web server) → running jobs get
IMAGINE_SHUTDOWN_GRACE_S to finish (the rest resume at the next start) →
model-list checks, announcer → platform clients → router → ledger → store.

The CLI's ``imagine`` and ``usage`` open the same core with no chat platform
(``open_app``; ``imagine`` passes in the CLI's own sink, ``adapters/cli/terminal.py``);
``status``, ``doctor``, ``models`` and the demo need only a router (``build_router``).
A platform's SDK is imported only when it is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date

from adapters.imaging import PillowInspector
from adapters.metrics import PromMeter, metrics_mount
from adapters.parts import Parts
from adapters.platforms import chosen_platforms, open_platforms
from adapters.playground.embedded import has_keys, open_sandbox
from adapters.providers.routes import build_router
from adapters.shared import open_shared
from adapters.web import web_app, web_server
from adapters.web_guard import check_bind
from bot.aliases import Aliases, stored_aliases
from bot.announcer import Announcer
from bot.config import Settings
from bot.freshness import Freshness, ShutdownNotice
from bot.guild_settings import GuildSettings
from bot.meter import Meter
from bot.notice_log import NoticeLog
from bot.ports import Claims, JobSink
from bot.quotas import Quotas
from bot.router import Router
from bot.service import ImagineService
from bot.sessions import SessionStore
from bot.shared_health import SharedHealth
from bot.status_history import StatusHistory
from bot.store import Store

__all__ = ["App", "build_router", "open_app", "run", "serve"]

log = logging.getLogger(__name__)

WEEK_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class App:
    service: ImagineService
    router: Router
    quotas: Quotas
    guilds: GuildSettings
    store: Store
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class _Core:
    store: Store
    quotas: Quotas
    router: Router
    sessions: SessionStore
    guilds: GuildSettings
    warnings: list[str]
    images: PillowInspector
    meter: Meter | None = None
    claims: Claims | None = None  # which process posts an announcement (Redis only)


async def _open_core(
    stack: AsyncExitStack, settings: Settings, meter: Meter | None = None
) -> _Core:
    """Store → Redis → quota ledger → router → shared health → sessions and workspace
    settings (Redis parts only with IMAGINE_REDIS_URL)."""
    store = await stack.enter_async_context(
        await Store.open(settings.database_url, pool=settings.imagine_database_pool)
    )
    shared = open_shared(stack, settings.imagine_redis_url)
    quotas = Quotas(
        store,
        daily_images=settings.imagine_daily_images_per_guild,
        monthly_budget_usd=settings.imagine_monthly_budget_usd_per_guild,
        user_rate=settings.imagine_user_rate,
        meter=meter,
        rate_storage=shared.rates if shared else None,
    )
    stack.push_async_callback(quotas.aclose)
    images = PillowInspector(settings.image_limits)  # references and models' images alike
    pacer = shared.pacer if shared else None  # each channel's rpm, for every process
    claims = shared.claims if shared else None  # announcements, and who probes a sick model
    router, warnings = build_router(
        settings, meter=meter, images=images, pacer=pacer, probes=claims
    )
    stack.push_async_callback(router.aclose)
    if shared is not None:
        await stack.enter_async_context(SharedHealth(router.board, shared.bus))
    stored = await stored_aliases(store, settings.catalog, date.today())
    warnings += stored.values()
    if isinstance(router.resolve, Aliases):
        router.resolve.warned(stored)
    sessions = SessionStore(
        store, max_history_bytes=int(settings.imagine_max_history_mb * 1024 * 1024)
    )
    guilds = GuildSettings(
        store,
        default_admins=settings.admin_users,
        default_safety_failover=settings.imagine_safety_failover,
        usable_model=lambda m: m in {r.model.id for r in router.routes},
        resolve=router.resolve,
    )
    return _Core(store, quotas, router, sessions, guilds, warnings, images, meter, claims)


def _open_service(
    stack: AsyncExitStack,
    settings: Settings,
    core: _Core,
    *,
    sinks: Mapping[str, JobSink],
    grace_s: float = 0.0,
) -> App:
    """The service, given the platforms' sinks; on the way out running jobs get
    ``grace_s`` to finish."""
    service = ImagineService(
        router=core.router,
        quotas=core.quotas,
        sessions=core.sessions,
        images=core.images,
        guilds=core.guilds,
        sinks=sinks,
        concurrency=settings.imagine_workers,
        per_workspace=settings.imagine_guild_concurrency,
        meter=core.meter,
        lease_s=settings.imagine_lease_s,
    )
    stack.push_async_callback(service.aclose, grace_s=grace_s)
    return App(service, core.router, core.quotas, core.guilds, core.store, core.warnings)


@asynccontextmanager
async def open_app(
    settings: Settings, *, sinks: Mapping[str, JobSink] | None = None
) -> AsyncIterator[App]:
    """The core with no chat platform: ``imagine-bot imagine`` (its sink passed in, the
    service not started) and ``usage`` (no sink)."""
    async with AsyncExitStack() as stack:
        core = await _open_core(stack, settings)
        yield _open_service(stack, settings, core, sinks=sinks or {})


def page_address(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


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
    chosen = chosen_platforms(settings)
    secret = settings.imagine_web_token
    token = (secret.get_secret_value().strip() if secret is not None else "") or None
    check_bind(settings.imagine_http_host, token)  # before anything opens
    async with AsyncExitStack() as stack:
        embedded = None
        if chosen.playground and not has_keys(settings):
            settings, embedded = await open_sandbox(stack, settings)
            log.warning("no model keys are set: the playground uses the sandbox models")
        meter = PromMeter()
        core = await _open_core(stack, settings, meter)
        for warning in core.warnings:
            log.warning("%s", warning)
        platforms = open_platforms(stack, chosen, embedded, settings.imagine_data_dir)
        announcer = Announcer(
            core.router.board,
            core.guilds,
            [p.sink for p in platforms],
            settle_s=settings.imagine_announce_settle_s,
            cooldown_s=settings.imagine_announce_cooldown_s,
            claims=core.claims,
        )
        stack.push_async_callback(announcer.aclose)
        freshness = Freshness(core.router, settings.catalog)
        stack.push_async_callback(freshness.aclose)
        sinks = {p.sink.platform: p.sink for p in platforms}
        grace_s = settings.imagine_shutdown_grace_s
        app = _open_service(stack, settings, core, sinks=sinks, grace_s=grace_s)
        rate = settings.imagine_user_rate or None
        history = StatusHistory(app.router.board)  # the status page's and chart's samples
        history.start()
        stack.push_async_callback(history.aclose)
        parts = Parts(app.service, app.router, app.quotas, app.guilds, rate, history)
        for platform in platforms:
            platform.attach(parts)
        host = settings.imagine_http_host
        mounts = [*(p.mount for p in platforms), metrics_mount(meter, app.router, app.service)]
        routes = web_app(app.router, mounts, token=token, history=history)
        port = await stack.enter_async_context(web_server(routes, host, settings.imagine_http_port))
        log.info("web server on %s:%s (/healthz, /status, /metrics)", host, port)
        if chosen.playground:
            address = page_address(host, port) + ("?token=<IMAGINE_WEB_TOKEN>" if token else "")
            print(f"imagine-bot playground: open {address}", flush=True)
        for platform in platforms:  # requests wait in submit until recovery is done
            stack.push_async_callback(platform.aclose)
            await platform.start()
        recovery = await app.service.start()
        if not recovery.empty:
            log.info("after the restart: %s", recovery)
        announcer.start()
        freshness.start(shutdown_announcer(app.store, announcer))
        if started is not None:
            await started(app, port)
        await stop.wait()
        log.info("stopping: no new requests; jobs get %ss", grace_s)


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
