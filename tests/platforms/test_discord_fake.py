"""FakeDiscord against the real discord.py 2.7: a commands.Bot logs in, connects to the
fake gateway, syncs app commands, answers slash commands, buttons and thread messages."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator

import discord
import pytest

from tests.platforms.discord_fake import FakeDiscord, patch_discord
from tests.platforms.discord_fake_types import FLAG_EPHEMERAL, MANAGE_GUILD
from tests.platforms.discord_test_client import (
    GENERATED,
    REFERENCE,
    REROLL,
    TIMEOUT,
    FakeBot,
    running,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        with patch_discord(server):
            yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[FakeBot]:
    async with running(FakeBot(fake)) as client:
        await client.tree.sync(guild=discord.Object(fake.guild_id))
        yield client


async def test_bot_connects_identifies_and_syncs_guild_commands(fake: FakeDiscord) -> None:
    async with running(FakeBot(fake)) as bot:
        synced = await bot.tree.sync(guild=discord.Object(fake.guild_id))
        assert bot.user is not None and bot.user.id == fake.application_id
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.get_channel(fake.channel_id) is not None
        assert guild.me is not None and guild.owner_id == fake.users["owner"].id
        assert fake.identify is not None and fake.identify["intents"] == bot.intents.value
        assert fake.gateway.connections[0]["v"] == "10"
        assert fake.gateway.connections[0]["encoding"] == "json"
        await fake.wait_for(lambda: fake.gateway.frames(1))  # a heartbeat, acked
        assert bot.latency != float("inf")
    registered = {c["name"]: c for c in fake.guild_commands()}
    assert sorted(registered) == ["imagine", "quick", "settings", "slow"]
    assert [o["type"] for o in registered["imagine"]["options"]] == [3, 11]
    assert registered["settings"]["default_member_permissions"] == str(MANAGE_GUILD)
    assert {c.id for c in synced} == {int(c["id"]) for c in registered.values()}
    assert not fake.global_commands


async def test_wrong_token_is_a_login_failure(fake: FakeDiscord) -> None:
    bot = FakeBot(fake)
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()
    assert fake.calls[-1].status == 401


async def test_privileged_intent_not_enabled_closes_with_4014() -> None:
    async with FakeDiscord(privileged_intents=0) as fake:
        with patch_discord(fake):
            bot = FakeBot(fake, message_content=True)
            await bot.login(fake.token)
            # With reconnect=False discord.py re-raises ConnectionClosed as is; only the
            # reconnecting loop turns 4014 into PrivilegedIntentsRequired.
            with pytest.raises(discord.ConnectionClosed) as closed:
                await asyncio.wait_for(bot.connect(reconnect=False), TIMEOUT)
            await bot.close()
    assert closed.value.code == 4014 and fake.identify is None


async def test_slash_defers_edits_follows_up_and_opens_a_thread(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    interaction = await fake.slash("imagine", {"prompt": "a red fox"})
    created = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    [thread] = fake.threads
    assert isinstance(created, discord.Thread) and created.id == int(thread["id"])

    assert [c["type"] for c in fake.callbacks] == [5]  # deferred, "thinking"
    original = fake.original_response(interaction["token"])
    assert original is not None and original["flags"] == 0  # no longer loading
    [attachment] = original["attachments"]
    assert fake.attachment_bytes(attachment) == GENERATED
    assert (attachment["width"], attachment["height"]) == (4, 3)
    assert original["embeds"][0]["title"] == "a red fox"
    assert original["embeds"][0]["image"]["url"] == attachment["url"]
    followup = fake.messages()[-1]
    assert followup["content"] == "Done: a red fox"
    assert followup["components"][0]["components"][0]["custom_id"] == REROLL
    assert thread["id"] == followup["id"] and thread["parent_id"] == str(fake.channel_id)
    assert thread["name"] == "imagine a red fox"
    assert [m["content"] for m in fake.messages(int(thread["id"]))] == [
        "Reply here to edit the image."
    ]
    assert any(name == "THREAD_CREATE" for _, name, _ in fake.events)


async def test_reference_attachment_is_downloaded_from_the_fake_cdn(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    interaction = await fake.slash(
        "imagine", {"prompt": "like this"}, attachments={"reference": ("ref.png", REFERENCE)}
    )
    option = interaction["data"]["options"][1]
    assert interaction["data"]["resolved"]["attachments"][option["value"]]["filename"] == "ref.png"
    await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    original = fake.original_response(interaction["token"])
    assert original is not None
    assert fake.attachment_bytes(original["attachments"][0]) == REFERENCE
    assert fake.calls_to("GET", "/attachments/*/ref.png")[0].status == 200


async def test_persistent_button_works_after_a_restart(fake: FakeDiscord) -> None:
    async with running(FakeBot(fake)) as first:
        await first.tree.sync(guild=discord.Object(fake.guild_id))
        await fake.slash("imagine", {"prompt": "a boat"})
        await asyncio.wait_for(first.outcomes.get(), TIMEOUT)
    followup = next(m for m in fake.messages() if m["content"] == "Done: a boat")

    async with running(FakeBot(fake)):  # a new process: only add_view() knows the button
        interaction = await fake.click(REROLL, followup["id"], user=fake.bob)
        reply = await fake.wait_for(lambda: fake.original_response(interaction["token"]))
    assert (
        reply is not None
        and reply["content"] == "Rerolling for bob"
        and reply["flags"] & FLAG_EPHEMERAL
    )
    assert interaction["message"]["id"] == followup["id"]
    with pytest.raises(LookupError):
        await fake.click("imagine:missing", followup["id"])


async def test_thread_message_attachment_reaches_on_message(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    channel = bot.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    thread = await channel.create_thread(name="chat", type=discord.ChannelType.public_thread)
    await fake.user_message(thread.id, "make it blue", attachments=[("sketch.png", REFERENCE)])

    received = await asyncio.wait_for(bot.inbox.get(), TIMEOUT)
    assert received.content == "make it blue" and received.channel.id == thread.id
    digest = hashlib.sha256(REFERENCE).hexdigest()[:12]
    reply = await fake.wait_for(lambda: fake.messages(thread.id)[1:])
    assert reply[0]["content"] == f"got sketch.png: {len(REFERENCE)} bytes {digest}"


async def test_without_message_content_intent_only_mentions_and_dms_carry_content(
    fake: FakeDiscord,
) -> None:
    async with running(FakeBot(fake, message_content=False)) as bot:
        await fake.user_message(content="hello", attachments=[("a.png", REFERENCE)])
        plain = await asyncio.wait_for(bot.inbox.get(), TIMEOUT)
        await fake.user_message(content=f"{fake.bot_user.mention} hello")
        mentioned = await asyncio.wait_for(bot.inbox.get(), TIMEOUT)
        await fake.user_message(fake.dm_channel(fake.alice)["id"], "in private")
        direct = await asyncio.wait_for(bot.inbox.get(), TIMEOUT)
    assert (plain.content, plain.attachments) == ("", [])
    assert mentioned.content.endswith("hello") and bot.user in mentioned.mentions
    assert direct.content == "in private" and isinstance(direct.channel, discord.DMChannel)
    assert fake.messages()[0]["content"] == "hello"  # people still see it


async def test_late_ack_gets_unknown_interaction() -> None:
    async with FakeDiscord(ack_deadline=0.2) as fake:
        with patch_discord(fake):
            async with running(FakeBot(fake)) as bot:
                await bot.tree.sync(guild=discord.Object(fake.guild_id))
                await fake.slash("slow", {"seconds": 0.3})
                error = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert fake.callbacks == []


async def test_second_ack_is_rejected(fake: FakeDiscord, bot: FakeBot) -> None:
    async def also_ack(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.defer()
        except discord.HTTPException as exc:
            bot.errors.put_nowait(exc)

    bot.add_listener(also_ack, "on_interaction")
    await fake.slash("settings", user=fake.mod)
    await fake.wait_for(lambda: len(fake.calls_to("POST", "/interactions/*/callback")) == 2)
    error = await asyncio.wait_for(bot.errors.get(), TIMEOUT)
    assert error.code == 40060 and bot.errors.empty()
    assert len(fake.callbacks) == 1


async def test_expired_token_rejects_the_edit(fake: FakeDiscord, bot: FakeBot) -> None:
    interaction = await fake.slash("slow", {"seconds": 0.0})
    await fake.wait_for(lambda: fake.callbacks)
    fake.expire_token(interaction["token"])
    bot.gate.set()
    error = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (401, 50027)


async def test_manage_server_hides_the_command_and_reaches_the_bot(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    with pytest.raises(PermissionError):
        await fake.slash("settings", user=fake.alice)
    await fake.slash("settings", user=fake.mod)
    reply = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)  # fetched via GET @original
    assert isinstance(reply, discord.InteractionMessage)
    assert reply.content == "manage_guild=True" and reply.flags.ephemeral
    await fake.slash("settings", user=fake.alice, permissions=MANAGE_GUILD)
    granted = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    assert isinstance(granted, discord.InteractionMessage) and granted.content == reply.content


async def test_first_followup_after_thinking_fills_the_loading_message(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    interaction = await fake.slash("quick")
    followup = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    assert isinstance(followup, discord.WebhookMessage)
    original = fake.original_response(interaction["token"])
    assert original is not None and followup.id == int(original["id"])
    assert [m["content"] for m in fake.messages()] == ["quick answer"]
    assert original["type"] == 20 and original["interaction_metadata"]["name"] == "quick"


async def test_bot_fetches_and_edits_messages(fake: FakeDiscord) -> None:
    async with running(FakeBot(fake, message_content=False)) as bot:
        channel = await bot.fetch_channel(fake.channel_id)
        assert isinstance(channel, discord.TextChannel) and channel.name == "imagine"
        sent = await channel.send("draft")
        await sent.edit(content="final")
        assert (await channel.fetch_message(sent.id)).content == "final"
        said = await fake.user_message(content="secret plan")
        assert (await channel.fetch_message(int(said["id"]))).content == ""  # no intent
        with pytest.raises(discord.Forbidden):
            await (await channel.fetch_message(int(said["id"]))).edit(content="hijack")
        with pytest.raises(discord.NotFound):
            await channel.fetch_message(1)
    assert [m["content"] for m in fake.messages()] == ["final", "secret plan"]
    assert fake.messages()[0]["edited_timestamp"] is not None


async def test_rate_limited_send_is_retried_only_with_via(fake: FakeDiscord, bot: FakeBot) -> None:
    channel = bot.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    fake.rate_limit_next("POST /channels/*/messages", 0.05)
    await channel.send("after a wait")
    assert [c.status for c in fake.calls_to("POST", "/channels/*/messages")] == [429, 200]

    fake.rate_limit_next("POST /channels/*/messages", 0.05, via=False)
    with pytest.raises(discord.HTTPException) as raised:
        await channel.send("looks like a ban")
    assert raised.value.status == 429
    assert [m["content"] for m in fake.messages()] == ["after a wait"]


async def test_discord_validation_errors(fake: FakeDiscord, bot: FakeBot) -> None:
    channel = bot.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.code == 50035 and "content" in str(too_long.value)
    big = discord.File(io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1)), filename="big.png")
    with pytest.raises(discord.HTTPException) as too_big:
        await channel.send(file=big)
    assert (too_big.value.status, too_big.value.code) == (413, 40005)
    assert fake.messages() == []


async def test_interaction_uploads_are_held_to_the_announced_limit(
    fake: FakeDiscord, bot: FakeBot
) -> None:
    mib = 1024 * 1024
    big = b"\0" * (15 * mib)
    roomy = await fake.slash("quick", attachment_size_limit=20 * mib)
    assert roomy["attachment_size_limit"] == 20 * mib
    answer = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    assert isinstance(answer, discord.WebhookMessage)
    await answer.edit(attachments=[discord.File(io.BytesIO(big), filename="big.png")])
    stored = fake.message(answer.id)
    assert stored is not None and fake.attachment_bytes(stored["attachments"][0]) == big
    tight = await fake.slash("quick")  # no Nitro, no boosts: Discord's default
    assert tight["attachment_size_limit"] == 10 * mib
    answer = await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)
    assert isinstance(answer, discord.WebhookMessage)
    with pytest.raises(discord.HTTPException) as too_big:
        await answer.edit(attachments=[discord.File(io.BytesIO(big), filename="big.png")])
    assert (too_big.value.status, too_big.value.code) == (413, 40005)


async def test_a_boosted_guild_raises_the_limit_there_but_not_in_dms() -> None:
    mib = 1024 * 1024
    async with FakeDiscord(premium_tier=2) as fake:
        with patch_discord(fake):
            async with running(FakeBot(fake)) as bot:
                await bot.tree.sync(guild=discord.Object(fake.guild_id))
                guild = bot.get_guild(fake.guild_id)
                assert guild is not None and guild.filesize_limit == 50 * mib
                channel = bot.get_channel(fake.channel_id)
                assert isinstance(channel, discord.TextChannel)
                big = b"\0" * (15 * mib)
                await channel.send(file=discord.File(io.BytesIO(big), filename="big.png"))
                interaction = await fake.slash("quick")
                assert interaction["attachment_size_limit"] == 50 * mib
                dm = await (await bot.fetch_user(fake.alice.id)).create_dm()
                with pytest.raises(discord.HTTPException) as too_big:
                    await dm.send(file=discord.File(io.BytesIO(big), filename="big.png"))
                assert (too_big.value.status, too_big.value.code) == (413, 40005)
                assert fake.upload_limit_in(int(fake.dm_channel(fake.alice)["id"])) == 10 * mib
                await asyncio.wait_for(bot.outcomes.get(), TIMEOUT)  # quick's answer


async def test_reconnect_resumes_and_replays_missed_events(fake: FakeDiscord, bot: FakeBot) -> None:
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)
    await fake.request_reconnect()
    await fake.user_message(content="sent while reconnecting")
    await asyncio.wait_for(resumed.wait(), TIMEOUT)
    received = await asyncio.wait_for(bot.inbox.get(), TIMEOUT)
    assert received.content == "sent while reconnecting" and bot.inbox.empty()
    assert fake.gateway.resumes == 1 and len(fake.gateway.connections) == 2
    assert fake.gateway.replayed == 1
