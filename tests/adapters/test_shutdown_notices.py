"""A coming shutdown is said in every status channel once per model per week,
however often the bot checks or restarts (the claim is in the database)."""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from adapters.app import shutdown_announcer
from bot.announcer import Announcer
from bot.freshness import ShutdownNotice
from bot.guild_settings import GuildSettings
from bot.health import HealthBoard
from bot.notice_log import NoticeLog
from bot.store import Store
from tests.bot.test_announcer import Poster

NOTICE = ShutdownNotice("gpt-image-2", date(2026, 12, 17), "gpt-image-2.6-sunburst")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(f"sqlite:///{tmp_path}/db.sqlite") as s:
        yield s


async def test_a_shutdown_is_announced_once_per_week(store: Store) -> None:
    guilds = GuildSettings(store)
    await guilds.set_status_channel("slack:T1", "C-status", by="admin")
    await guilds.set_status_channel("discord:G1", "42", by="admin")
    slack, discord = Poster("slack"), Poster("discord")
    announcer = Announcer(HealthBoard(lambda: 0.0), guilds, [slack, discord])
    say = shutdown_announcer(store, announcer)
    for _ in range(3):  # three daily checks (or restarts) in one week
        await say([NOTICE])
    text = "⏳ gpt-image-2 shuts down on 2026-12-17 — its successor is gpt-image-2.6-sunburst."
    assert slack.posts == [("slack:T1", "C-status", text)]
    assert discord.posts == [("discord:G1", "42", text)]


async def test_the_claim_reopens_after_the_period(store: Store) -> None:
    now = [1000.0]
    notices = NoticeLog(store, clock=lambda: now[0])
    assert await notices.claim("k", every_s=60)
    assert not await notices.claim("k", every_s=60)
    now[0] += 61
    assert await notices.claim("k", every_s=60)
    assert await notices.claim("other", every_s=60)
