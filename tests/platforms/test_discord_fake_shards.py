"""The fake gateway shards as Discord does, against the real discord.py's
``AutoShardedClient``: each session hears only its shard's guilds (and their slash
commands), DMs only shard 0; an invalid shard is closed with 4010, too many guilds on
one session with 4011; GET /gateway/bot recommends the shard count."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import discord
import pytest

from tests.platforms.discord_fake import FakeDiscord, patch_discord
from tests.platforms.discord_fake_shards import Session, shard_of
from tests.platforms.discord_test_client import TIMEOUT


class Sharded(discord.AutoShardedClient):
    def __init__(self, **options: Any) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1, **options)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5-second pause between shards (discord.py's default, for max_concurrency 1)."""


@contextlib.asynccontextmanager
async def connected(fake: FakeDiscord, client: discord.Client) -> AsyncIterator[discord.Client]:
    await client.login(fake.token)
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        await asyncio.wait({task, ready}, timeout=TIMEOUT, return_when="FIRST_COMPLETED")
        if not ready.done():
            ready.cancel()
            await task  # raises why it ended
            pytest.fail("never ready")
        yield client
    finally:
        await client.close()
        with contextlib.suppress(discord.ConnectionClosed):
            await asyncio.wait_for(task, TIMEOUT)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        with patch_discord(server):
            yield server


def heard(session: Session, event: str) -> list[Any]:
    return [data for _, name, data in session.events if name == event]


def session_on(fake: FakeDiscord, shard: Sequence[int]) -> Session:
    (found,) = [s for s in fake.gateway.sessions if s.shard == tuple(shard) and s.connected]
    return found


async def test_each_shard_gets_only_its_guilds_and_their_interactions(fake: FakeDiscord) -> None:
    other, other_channel = fake.add_guild("Shard zero", shard=(0, 2))
    assert shard_of(other, 2) == 0 and shard_of(fake.guild_id, 2) == 1
    async with (
        connected(fake, Sharded(shard_ids=[0], shard_count=2)) as zero,
        connected(fake, Sharded(shard_ids=[1], shard_count=2)) as one,
    ):
        assert [g.id for g in zero.guilds] == [other] and [g.id for g in one.guilds] == [
            fake.guild_id
        ]
        identifies = [s.identify["shard"] for s in fake.gateway.sessions]
        assert sorted(identifies) == [[0, 2], [1, 2]]
        fake.store.global_commands.append(_command())  # as if synced; nobody answers
        s0, s1 = session_on(fake, (0, 2)), session_on(fake, (1, 2))
        first = await fake.slash("ping", {}, channel=other_channel)
        second = await fake.slash("ping", {})
        dm = await fake.slash("ping", {}, guild=False)
        assert [i["id"] for i in heard(s0, "INTERACTION_CREATE")] == [first["id"], dm["id"]]
        assert [i["id"] for i in heard(s1, "INTERACTION_CREATE")] == [second["id"]]


async def test_an_unsharded_session_hears_every_guild(fake: FakeDiscord) -> None:
    other, _ = fake.add_guild("Shard zero", shard=(0, 2))
    async with connected(fake, discord.Client(intents=discord.Intents.default())) as client:
        assert {g.id for g in client.guilds} == {other, fake.guild_id}
        assert fake.identify is not None and "shard" not in fake.identify


async def test_the_recommended_shard_count_is_used_when_none_is_given() -> None:
    async with FakeDiscord(recommended_shards=2, max_guilds_per_shard=1) as fake:
        other, _ = fake.add_guild("Shard zero", shard=(0, 2))
        with patch_discord(fake):
            async with connected(fake, Sharded()) as client:
                assert isinstance(client, Sharded) and client.shard_count == 2
                assert {g.id for g in client.guilds} == {other, fake.guild_id}
                assert sorted(s.shard or () for s in fake.gateway.sessions) == [(0, 2), (1, 2)]


async def test_too_many_guilds_on_one_session_is_closed_with_4011() -> None:
    async with FakeDiscord(max_guilds_per_shard=1) as fake:
        fake.add_guild("Another")
        with patch_discord(fake):
            client = discord.Client(intents=discord.Intents.default())
            await client.login(fake.token)
            with pytest.raises(discord.ConnectionClosed) as closed:
                await asyncio.wait_for(client.connect(reconnect=False), TIMEOUT)
            await client.close()
    assert closed.value.code == 4011 and not fake.gateway.sessions


async def test_a_shard_id_not_below_the_count_is_closed_with_4010(fake: FakeDiscord) -> None:
    client = Sharded(shard_ids=[2], shard_count=2)
    await client.login(fake.token)
    with pytest.raises(discord.ConnectionClosed) as closed:
        await asyncio.wait_for(client.connect(reconnect=True), TIMEOUT)
    await client.close()
    assert closed.value.code == 4010 and not fake.gateway.sessions


def _command() -> dict[str, Any]:
    return {"id": "1", "name": "ping", "type": 1, "options": [], "contexts": [0, 1, 2]}
