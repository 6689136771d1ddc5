"""Provider pacing shared by every process: each paced route's calls of the last
minute are counted in Redis, so ``rpm = 60`` on a channel means 60 a minute per model
for all the processes together, not 60 for each.

The count is ``limits``' moving window in Redis (the library the per-user rate limit
already uses): one atomic Lua script per call checks the last 60 s and records the
call only if there is room, so two processes can never both take the last place. The
keys are ``imagine:pace/<channel>:<model>/…`` (limits' own key layout under our
prefix) and expire with their window.

Best effort, like the other shared parts: a call runs under ``TIMEOUT_S`` (the walk
never waits longer on pacing than that), and while Redis cannot answer, each process
paces in its own memory (``bot.pacing.LocalPacer``: the limit holds per process) and
the link says so once. Calls counted in memory meanwhile are not copied to Redis.
"""

from __future__ import annotations

import asyncio

from adapters.shared.link import RedisLink
from bot.pacing import WINDOW_S, LocalPacer

TIMEOUT_S = 0.25  # a pick of the next model waits no longer than this on Redis


class SharedPacer:
    """A ``bot.ports.Pacer`` over Redis, falling back to ``local``."""

    def __init__(self, link: RedisLink, local: LocalPacer) -> None:
        self._link = link
        self._local = local
        self._redis = link.limits_storage("pace")

    async def take(self, key: str, *, rpm: int) -> bool:
        if rpm <= 0:
            return True

        async def shared() -> bool:
            async with asyncio.timeout(TIMEOUT_S):
                return await self._redis.acquire_entry(key, rpm, int(WINDOW_S))

        async def alone() -> bool:
            return self._local.take_now(key, rpm=rpm)

        return await self._link.either(shared, alone)
