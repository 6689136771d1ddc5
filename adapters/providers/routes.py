"""Settings + catalogue → providers (SDK-backed) → routes → router.

The router for ``imagine-bot run`` and the CLI's commands (see ``adapters/app.py``)
and for the demo; ``status``, ``doctor`` and ``models`` use it bare.
"""

from __future__ import annotations

import time
from datetime import date

from adapters.imaging import PillowInspector
from adapters.providers import build_provider
from bot.aliases import Aliases
from bot.config import Settings
from bot.health import HealthBoard
from bot.meter import Meter
from bot.pacing import LocalPacer
from bot.ports import Claims, Clock, ImageInspector, ImageProvider, Pacer
from bot.router import Route, Router, RouterPolicy


def build_router(
    settings: Settings,
    *,
    today: date | None = None,
    clock: Clock = time.monotonic,
    meter: Meter | None = None,
    images: ImageInspector | None = None,
    pacer: Pacer | None = None,
    probes: Claims | None = None,
) -> tuple[Router, list[str]]:
    """The router for ``settings`` and the start-up warnings an admin should read;
    ``meter`` is told of its attempts, fallbacks and spend (``bot.meter``); ``images``
    checks every image a model returns (default: Pillow within ``settings``' limits);
    ``pacer`` keeps each channel's ``rpm`` (default: this process's own count);
    ``probes`` lets one process of several probe a sick route (default: alone)."""
    today = today or date.today()
    images = images or PillowInspector(settings.image_limits)
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
                providers[name] = build_provider(
                    channel, api_key=key or "", base_url=base_url, images=images
                )
            provider = providers[name]
            if provider is None:
                continue
            label = model_id if len(channels) == 1 else f"{model_id}@{name}"
            board.add(label, model=model_id, channel=name, typical_latency_s=spec.latency_s)
            routes.append(Route(label, spec, provider, rpm=catalog.channels[name].rpm))
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
        meter=meter,
        pacer=pacer or LocalPacer(clock),
        probes=probes,
    )
    return router, warnings
