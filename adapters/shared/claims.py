"""Announcements posted once across processes: ``bot.ports.Claims`` as Redis
``SET key origin NX PX ttl`` — the first process to claim a line posts it.

Why a key with a TTL rather than a Postgres advisory lock: a line must be said
once per *window* (a cooldown, a settle), not once per lock holder — an advisory
lock is released when its holder is done and the next process would post again;
the key's TTL is the window itself, needs no release (a process that dies after
claiming cannot block the next announcement), and works whatever the database
(SQLite included). Redis down: every process claims (a duplicate, not silence)."""

from __future__ import annotations

from adapters.shared.link import RedisLink


class RedisClaims:
    def __init__(self, link: RedisLink) -> None:
        self._link = link

    async def claim(self, key: str, *, ttl_s: float) -> bool:
        link = self._link
        ms = max(1, round(ttl_s * 1000))

        async def first() -> bool:
            return bool(await link.client.set(link.key(key), link.origin, nx=True, px=ms))

        return await link.run(first, True)
