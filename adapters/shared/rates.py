"""The per-user rate limit shared by every process: ``limits``' Redis storage (moving
window, redis-py asyncio, the link's connection pool), with a fallback — while Redis
cannot answer, each call counts in this process's memory instead (the limit holds per
process, as without Redis; requests are never refused or held up for Redis' sake),
and the link says so once. Hits counted in memory meanwhile are not copied back.
"""

from __future__ import annotations

import asyncio

from limits.aio.storage import MemoryStorage, MovingWindowSupport, Storage

from adapters.shared.link import RedisLink


class SharedRateStorage(Storage, MovingWindowSupport):
    STORAGE_SCHEME = None  # built here, never from a URI

    def __init__(self, link: RedisLink) -> None:
        super().__init__()
        self._link = link
        self._redis = link.limits_storage("limits")
        self._memory = MemoryStorage()

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # every failure is handled below: nothing reaches the rate limiter

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return await self._link.either(
            lambda: self._redis.acquire_entry(key, limit, expiry, amount),
            lambda: self._memory.acquire_entry(key, limit, expiry, amount),
        )

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return await self._link.either(
            lambda: self._redis.get_moving_window(key, limit, expiry),
            lambda: self._memory.get_moving_window(key, limit, expiry),
        )

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return await self._link.either(
            lambda: self._redis.incr(key, expiry, amount),
            lambda: self._memory.incr(key, expiry, amount),
        )

    async def get(self, key: str) -> int:
        return await self._link.either(lambda: self._redis.get(key), lambda: self._memory.get(key))

    async def get_expiry(self, key: str) -> float:
        return await self._link.either(
            lambda: self._redis.get_expiry(key), lambda: self._memory.get_expiry(key)
        )

    async def check(self) -> bool:
        return await self._link.run(self._redis.check, False)

    async def reset(self) -> int | None:
        await self._memory.reset()
        return await self._link.run(self._redis.reset, None)

    async def clear(self, key: str) -> None:
        await self._memory.clear(key)
        await self._link.run(lambda: self._redis.clear(key), None)

    async def aclose(self) -> None:
        """Stop the memory fallback's expiry task (the link closes the connection)."""
        timer = self._memory.timer
        if timer is not None and not timer.done():
            timer.cancel()
            await asyncio.wait([timer])
