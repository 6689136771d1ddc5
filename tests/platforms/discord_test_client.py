"""The discord.py bot the fake's own tests drive: slash commands that defer, edit,
follow up and open threads, a persistent button, and a clean start and stop that
fails the test if discord.py logged an error."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.platforms.discord_fake import FakeDiscord

TIMEOUT = 5.0
REROLL = "imagine:reroll"


def png(width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(tag + data))
        return struct.pack(">I", len(data)) + tag + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))


GENERATED = png(4, 3)
REFERENCE = png(2, 2) + b"reference"


class RerollView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Reroll", custom_id=REROLL, style=discord.ButtonStyle.primary)
    async def reroll(
        self, interaction: discord.Interaction, button: discord.ui.Button[RerollView]
    ) -> None:
        await interaction.response.send_message(
            f"Rerolling for {interaction.user.name}", ephemeral=True
        )


@app_commands.command(description="Generate an image")
async def imagine(
    interaction: discord.Interaction, prompt: str, reference: discord.Attachment | None = None
) -> None:
    await interaction.response.defer(thinking=True)
    data = GENERATED if reference is None else await reference.read()
    embed = discord.Embed(title=prompt).set_image(url="attachment://result.png")
    file = discord.File(io.BytesIO(data), filename="result.png")
    await interaction.edit_original_response(embed=embed, attachments=[file])
    message = await interaction.followup.send(f"Done: {prompt}", view=RerollView(), wait=True)
    assert isinstance(interaction.channel, discord.TextChannel)
    thread = await interaction.channel.create_thread(name=f"imagine {prompt}", message=message)
    await thread.send("Reply here to edit the image.")
    assert isinstance(interaction.client, FakeBot)
    interaction.client.outcomes.put_nowait(thread)


@app_commands.command(description="Acknowledge after a pause")
async def slow(interaction: discord.Interaction, seconds: float) -> None:
    bot = interaction.client
    assert isinstance(bot, FakeBot)
    await asyncio.sleep(seconds)
    try:
        await interaction.response.defer(thinking=True)
    except discord.HTTPException as exc:
        bot.outcomes.put_nowait(exc)
        return
    await bot.gate.wait()
    try:
        await interaction.edit_original_response(content="done")
    except discord.HTTPException as exc:
        bot.outcomes.put_nowait(exc)
    else:
        bot.outcomes.put_nowait("edited")


@app_commands.command(description="Server settings")
@app_commands.default_permissions(manage_guild=True)
async def settings(interaction: discord.Interaction) -> None:
    bot = interaction.client
    assert isinstance(bot, FakeBot)
    try:
        await interaction.response.send_message(
            f"manage_guild={interaction.permissions.manage_guild}", ephemeral=True
        )
    except discord.HTTPException as exc:
        bot.errors.put_nowait(exc)
    else:
        bot.outcomes.put_nowait(await interaction.original_response())


@app_commands.command(description="Defer, then answer with a follow-up")
async def quick(interaction: discord.Interaction) -> None:
    bot = interaction.client
    assert isinstance(bot, FakeBot)
    await interaction.response.defer(thinking=True)
    bot.outcomes.put_nowait(await interaction.followup.send("quick answer", wait=True))


class FakeBot(commands.Bot):
    def __init__(self, fake: FakeDiscord, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.1)
        self.fake = fake
        self.inbox: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.outcomes: asyncio.Queue[object] = asyncio.Queue()
        self.errors: asyncio.Queue[discord.HTTPException] = asyncio.Queue()
        self.gate = asyncio.Event()

    async def setup_hook(self) -> None:
        guild = discord.Object(self.fake.guild_id)
        commands_: list[app_commands.Command[Any, Any, Any]] = [imagine, slow, settings, quick]
        for command in commands_:
            self.tree.add_command(command, guild=guild)
        self.add_view(RerollView())

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        self.inbox.put_nowait(message)
        if isinstance(message.channel, discord.Thread) and message.attachments:
            attachment = message.attachments[0]
            data = await attachment.read()
            digest = hashlib.sha256(data).hexdigest()[:12]
            await message.channel.send(f"got {attachment.filename}: {len(data)} bytes {digest}")


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.asynccontextmanager
async def running(bot: FakeBot) -> AsyncIterator[FakeBot]:
    """Log in, connect, wait for on_ready; close cleanly. Fails if discord.py logged an error
    (such as "Ignoring exception in command")."""
    errors = ErrorLog()
    logging.getLogger("discord").addHandler(errors)
    try:
        await bot.login(bot.fake.token)
        connection = asyncio.create_task(bot.connect(reconnect=False))
        try:
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait(
                {connection, ready}, timeout=TIMEOUT, return_when="FIRST_COMPLETED"
            )
            if ready not in done:
                ready.cancel()
                await connection if connection in done else pytest.fail("bot never became ready")
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(connection, TIMEOUT)
    finally:
        logging.getLogger("discord").removeHandler(errors)
    assert not errors.lines, "\n".join(errors.lines)
