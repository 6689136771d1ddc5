"""What several processes of the bot share live, over Redis (``IMAGINE_REDIS_URL``,
redis-py asyncio): breaker trips and recoveries (``health_bus``), the per-user rate
limit (``rates``), provider pacing (``pacing``) and which process posts each
announcement (``claims``). All of it
degrades to per-process behaviour while Redis is unreachable (``link``)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from adapters.shared.claims import RedisClaims
from adapters.shared.health_bus import RedisHealthBus
from adapters.shared.link import RedisLink
from adapters.shared.pacing import SharedPacer
from adapters.shared.rates import SharedRateStorage
from bot.pacing import LocalPacer

__all__ = [
    "RedisClaims",
    "RedisHealthBus",
    "RedisLink",
    "Shared",
    "SharedPacer",
    "SharedRateStorage",
    "open_shared",
]


@dataclass(frozen=True, slots=True)
class Shared:
    link: RedisLink
    rates: SharedRateStorage
    bus: RedisHealthBus
    claims: RedisClaims
    pacer: SharedPacer


def open_shared(
    stack: AsyncExitStack, url: str | None, *, prefix: str = "imagine:"
) -> Shared | None:
    """The shared parts for ``url`` (None: nothing is shared), closed by ``stack``.
    Nothing connects here: a Redis that is down at start is only logged, once."""
    if not url:
        return None
    link = RedisLink(url, prefix=prefix)
    stack.push_async_callback(link.aclose)
    rates = SharedRateStorage(link)
    stack.push_async_callback(rates.aclose)
    pacer = SharedPacer(link, LocalPacer())
    return Shared(link, rates, RedisHealthBus(link), RedisClaims(link), pacer)
