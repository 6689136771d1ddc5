"""Two announcers (two processes' boards, each seeing the primary go down) post each
announcement once between them: the first to claim its key in Redis posts it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from adapters.shared import RedisClaims, RedisLink
from bot.announcer import Announcer
from bot.breaker import BreakerPolicy
from bot.guild_settings import GuildSettings
from bot.health import HealthBoard
from bot.store import Store
from tests.bot.test_announcer import Poster

PRO, FLASH = "gemini-3-pro-image", "gemini-nano-banana-2.1"


@pytest.fixture
async def guilds(tmp_path: Path) -> AsyncIterator[GuildSettings]:
    async with await Store.open(f"sqlite:///{tmp_path}/db.sqlite") as store:
        settings = GuildSettings(store)
        await settings.set_status_channel("slack:T1", "C-status", by="admin")
        yield settings


def board() -> HealthBoard:
    b = HealthBoard(asyncio.get_running_loop().time, breaker_policy=BreakerPolicy(open_s=60))
    for label in (PRO, FLASH):
        b.add(label, model=label, channel="google", typical_latency_s=1.0)
    return b


async def test_each_announcement_is_posted_once_by_two_announcers(
    guilds: GuildSettings, redis_url: str, prefix: str
) -> None:
    async with AsyncExitStack() as stack:
        rigs = []
        for _ in range(2):
            link = RedisLink(redis_url, prefix=prefix, timeout_s=0.5)
            stack.push_async_callback(link.aclose)
            b, poster = board(), Poster("slack")
            announcer = Announcer(
                b, guilds, [poster], settle_s=0, cooldown_s=300, claims=RedisClaims(link)
            )
            await stack.enter_async_context(announcer)
            rigs.append((b, poster, announcer))

        async def everyone(change: str) -> None:
            for b, _, _ in rigs:
                rh = b[PRO]
                if change == "down":
                    rh.breaker.adopt_trip(open_s=60)
                else:
                    rh.breaker.adopt_close()
                b.refresh()
            for _, _, announcer in rigs:
                await announcer.wait_idle()

        await everyone("down")
        await everyone("up")
        said = [text for _, poster, _ in rigs for text in poster.texts("slack:T1")]
        assert len(said) == 2, said  # one "down", one "recovered" — not two of each
        assert "down" in said[0] or "down" in said[1]
        assert any("recovered" in s for s in said)
