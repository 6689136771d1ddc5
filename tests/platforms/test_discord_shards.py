"""Discord sharded (issue 14): DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS split the servers
between processes, or one process runs several shards — the real discord.py behind
``imagine-bot run`` against the fake Discord, whose gateway routes each server's events
(slash commands included) to the shard ``(guild_id >> 22) % count`` only."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from adapters.app import serve
from adapters.discord.settings import DiscordSettings
from bot.config import Settings
from bot.errors import ConfigError
from tests.platforms.discord_bot import DiscordWorld, discord_world
from tests.platforms.running_bot import running

TWO_SHARDS = {"DISCORD_GUILD_IDS": "", "DISCORD_SHARD_COUNT": "2"}  # commands synced globally


async def images_made(world: DiscordWorld, workspace: int | str) -> int:
    """Images this bot made in a server (or in DMs: ``"dm"``)."""
    assert world.app is not None
    usage = await world.app.quotas.usage(f"discord:{workspace}")
    return usage.images_today + usage.images_reserved  # delivered: settled, or about to be


def acks(world: DiscordWorld, interaction: dict[str, Any]) -> int:
    """Callbacks tried for it, refused ones too (a second bot's would be 40060)."""
    return len(world.discord.calls_to("POST", f"/interactions/{interaction['id']}/*/callback"))


async def test_two_processes_split_the_servers_by_shard(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(
        tmp_path, monkeypatch, start=False, DISCORD_SHARD_IDS="0", **TWO_SHARDS
    ) as zero:
        fake = zero.discord
        guild_zero, channel_zero = fake.add_guild("Shard zero", shard=(0, 2))
        guild_one = fake.guild_id  # (guild_id >> 22) % 2 == 1
        await zero.start()
        env = zero.env | {"DISCORD_SHARD_IDS": "1", "IMAGINE_DATA_DIR": str(tmp_path / "data1")}
        async with running(DiscordWorld(zero.sandbox, env, discord=fake), monkeypatch) as one:
            assert sorted(fake.gateway.shards_connected()) == [(0, 2), (1, 2)]
            on_zero = await fake.slash("imagine", {"prompt": "a fox"}, channel=channel_zero)
            on_one = await fake.slash("imagine", {"prompt": "a hare"})
            in_dm = await fake.slash("imagine", {"prompt": "an owl"}, guild=False)
            for interaction in (on_zero, on_one, in_dm):
                assert len(zero.images(await zero.finished(interaction))) == 1
                assert acks(zero, interaction) == 1  # heard by one bot only
            made = {
                where: [await images_made(bot, where) for bot in (zero, one)]
                for where in (guild_zero, guild_one, "dm")
            }
            assert made == {guild_zero: [1, 0], guild_one: [0, 1], "dm": [1, 0]}  # DMs: shard 0
            assert len([c for c in fake.calls if c.files]) == 3  # each image uploaded once
            assert len(zero.sandbox.calls) == 3


async def test_one_process_can_run_several_shards(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(
        tmp_path, monkeypatch, start=False, DISCORD_SHARD_IDS="0,1", **TWO_SHARDS
    ) as w:
        other, channel = w.discord.add_guild("Shard zero", shard=(0, 2))
        await w.start()
        assert sorted(w.discord.gateway.shards_connected()) == [(0, 2), (1, 2)]
        for interaction in (
            await w.discord.slash("imagine", {"prompt": "a fox"}, channel=channel),
            await w.discord.slash("imagine", {"prompt": "a hare"}),
        ):
            assert len(w.images(await w.finished(interaction))) == 1
        assert [await images_made(w, g) for g in (other, w.discord.guild_id)] == [1, 1]


async def test_without_settings_it_runs_the_shards_discord_recommends(
    tmp_path: Path, monkeypatch
) -> None:
    """Why the bot is always an AutoShardedBot: past the guilds one connection may hold
    (Discord: 2,500; here 1) an unsharded bot is refused with 4011."""
    fake = {"recommended_shards": 2, "max_guilds_per_shard": 1}
    async with discord_world(
        tmp_path, monkeypatch, start=False, fake_options=fake, DISCORD_GUILD_IDS=""
    ) as w:
        _, channel = w.discord.add_guild("Shard zero", shard=(0, 2))
        await w.start()
        assert sorted(w.discord.gateway.shards_connected()) == [(0, 2), (1, 2)]
        interaction = await w.discord.slash("imagine", {"prompt": "a fox"}, channel=channel)
        assert len(w.images(await w.finished(interaction))) == 1


async def test_too_few_shards_for_discord_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    fake = {"max_guilds_per_shard": 1}  # Discord: 2,500
    async with discord_world(
        tmp_path, monkeypatch, start=False, fake_options=fake, DISCORD_SHARD_COUNT="1"
    ) as w:
        w.discord.add_guild("Another")
        with pytest.raises(ConfigError, match=r"Discord requires sharding \(4011\)"):
            await serve(Settings(), stop=asyncio.Event())


async def test_a_bad_shard_setting_starts_nothing(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(
        tmp_path, monkeypatch, start=False, DISCORD_SHARD_IDS="2", **TWO_SHARDS
    ) as w:
        with pytest.raises(ConfigError, match=r"DISCORD_SHARD_IDS must be from 0 to 1"):
            await serve(Settings(), stop=asyncio.Event())  # as `imagine-bot run` does
        assert not w.discord.calls and not w.discord.gateway.sessions
        assert not (tmp_path / "data").exists()  # no database opened either


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DISCORD_SHARD_IDS": "2", "DISCORD_SHARD_COUNT": "2"}, "must be from 0 to 1"),
        ({"DISCORD_SHARD_IDS": "-1", "DISCORD_SHARD_COUNT": "2"}, "must be from 0 to 1"),
        ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_IDS": "abc", "DISCORD_SHARD_COUNT": "2"}, "comma list of shard"),
        ({"DISCORD_SHARD_IDS": "0,,1", "DISCORD_SHARD_COUNT": "2"}, "comma list of shard"),
        ({"DISCORD_SHARD_IDS": "1,1", "DISCORD_SHARD_COUNT": "2"}, "names a shard twice"),
        ({"DISCORD_SHARD_COUNT": "abc"}, "DISCORD_SHARD_COUNT must be a whole number"),
        ({"DISCORD_SHARD_COUNT": "0"}, "from 1 to 10,000"),
        ({"DISCORD_SHARD_COUNT": "10001"}, "from 1 to 10,000"),
        ({"DISCORD_SHARD_COUNT": "1e9"}, "from 1 to 10,000"),
    ],
)
def test_bad_shard_settings_are_one_line_errors(env: dict[str, str], says: str) -> None:
    settings = Settings(_env_file=None).with_env(DISCORD_TOKEN="t", **env)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=says) as error:
        DiscordSettings.read(settings)
    assert "\n" not in str(error.value)


def test_good_shard_settings() -> None:
    def read(**env: str) -> DiscordSettings:
        found = DiscordSettings.read(
            Settings(_env_file=None).with_env(DISCORD_TOKEN="t", **env)  # type: ignore[call-arg]
        )
        assert found is not None
        return found

    assert (read().shard_count, read().shard_ids) == (None, None)
    unset_ids = read(DISCORD_SHARD_COUNT="4")
    assert (unset_ids.shard_count, unset_ids.shard_ids) == (4, None)
    mine = read(DISCORD_SHARD_COUNT="10000", DISCORD_SHARD_IDS=" 9999, 3 ,0")
    assert (mine.shard_count, mine.shard_ids) == (10_000, (0, 3, 9999))  # started in order
