"""Composition: settings + catalogue → providers (SDK-backed) → routes → router.

Lives in ``adapters/`` because it wires SDK-backed adapters into the core; the
CLI, the platform runners and the benchmark all build their router here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

from adapters.providers import build_provider
from bot.aliases import Aliases, stored_aliases
from bot.config import Settings
from bot.freshness import Freshness
from bot.guild_settings import GuildSettings
from bot.health import HealthBoard
from bot.ports import Clock, ImageProvider
from bot.quotas import Quotas
from bot.router import Route, Router, RouterPolicy
from bot.service import ImagineService
from bot.sessions import SessionStore
from bot.store import Store


def build_router(
    settings: Settings, *, today: date | None = None, clock: Clock = time.monotonic
) -> tuple[Router, list[str]]:
    """The router for ``settings`` and the start-up warnings an admin should read."""
    today = today or date.today()
    catalog = settings.catalog
    warnings = catalog.chain_warnings(today)
    board = HealthBoard(clock)
    providers: dict[str, ImageProvider | None] = {}
    routes: list[Route] = []
    for model_id in catalog.resolved_chain(today):
        spec = catalog.models.get(model_id)
        if spec is None or spec.is_retired(today):
            continue
        channels = [c for c in spec.channels if c in catalog.channels]
        for name in channels:
            if name not in providers:
                channel = catalog.channels[name]
                key = settings.lookup(channel.api_key_env)
                if key is None and not channel.vertex:
                    warnings.append(
                        f"channel {name!r}: {channel.api_key_env} is not set; "
                        f"models on it are skipped"
                    )
                    providers[name] = None
                    continue
                base_url = channel.base_url or settings.lookup(channel.base_url_env)
                providers[name] = build_provider(channel, api_key=key or "", base_url=base_url)
            provider = providers[name]
            if provider is None:
                continue
            label = model_id if len(channels) == 1 else f"{model_id}@{name}"
            board.add(label, model=model_id, channel=name, typical_latency_s=spec.latency_s)
            routes.append(Route(label, spec, provider))
    policy = RouterPolicy(
        deadline_s=settings.imagine_deadline_s,
        hedge=settings.imagine_hedge,
        failover_on_safety=settings.imagine_safety_failover,
    )
    aliases = Aliases(catalog, warned=catalog.chain)  # the chain's were just warned about
    router = Router(
        routes,
        board=board,
        policy=policy,
        clock=clock,
        resolve=aliases,
        successor=aliases.successor,
    )
    return router, warnings


@dataclass(frozen=True, slots=True)
class App:
    service: ImagineService
    router: Router
    quotas: Quotas
    guilds: GuildSettings
    store: Store
    warnings: list[str]
    freshness: Freshness


@asynccontextmanager
async def open_app(settings: Settings) -> AsyncIterator[App]:
    """Store, quota ledger, sessions and router, closed in reverse on the way out."""
    store = await Store.open(settings.database_url)
    try:
        quotas = Quotas(
            store,
            daily_images=settings.imagine_daily_images_per_guild,
            monthly_budget_usd=settings.imagine_monthly_budget_usd_per_guild,
            user_rate=settings.imagine_user_rate,
        )
        try:
            router, warnings = build_router(settings)
            stored = await stored_aliases(store, settings.catalog, date.today())
            warnings += stored.values()
            if isinstance(router.resolve, Aliases):
                router.resolve.warned(stored)
            try:
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
                service = ImagineService(
                    router=router,
                    quotas=quotas,
                    sessions=sessions,
                    guilds=guilds,
                    concurrency=settings.imagine_workers,
                    per_workspace=settings.imagine_guild_concurrency,
                )
                try:
                    freshness = Freshness(router, settings.catalog)
                    yield App(service, router, quotas, guilds, store, warnings, freshness)
                finally:
                    await service.aclose()
            finally:
                await router.aclose()
        finally:
            await quotas.aclose()
    finally:
        await store.close()
