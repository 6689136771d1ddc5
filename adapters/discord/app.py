"""The Discord platform: a ``commands.Bot`` with the imagine, status/usage/admin
cogs and the persistent job buttons. Commands are synced globally, or at once to
``DISCORD_GUILD_IDS`` (development). ``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL``
point this bot's discord.py client at a REST or gateway proxy (or a test fake):
see ``rebase.py`` (discord.py's own defaults are left alone).

Built in two steps (see ``adapters/app.py``): ``build_discord`` makes the client
and its sink, which the service is given; ``attach`` then hands the cogs the
service and the admin parts, before ``start`` logs in.

Always an ``AutoShardedBot``: with DISCORD_SHARD_COUNT unset it asks Discord
(GET /gateway/bot) how many shards to run and runs them all here — one, IDENTIFY
``shard: [0, 1]``, for a bot in fewer than a couple of thousand servers, which hears every
server as an unsharded connection would — so a bot that grows past Discord's 2,500
servers per connection keeps connecting without a setting (a plain ``Bot`` would be
closed with 4011, "Sharding required"). DISCORD_SHARD_COUNT fixes the total and
DISCORD_SHARD_IDS the shards this process runs, so several processes split the
servers between them (settings.py has Discord's rules and where they are written).

Plain messages in an image's thread need the privileged *message content*
intent (Developer Portal → Bot → Message Content Intent); with
``DISCORD_MESSAGE_CONTENT=false`` only messages that mention the bot are read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from aiohttp import web
from discord import app_commands
from discord.ext import commands

from adapters.discord.admin import AdminCog
from adapters.discord.buttons import JobButton
from adapters.discord.listeners import ImagineCog
from adapters.discord.rebase import Rebase, RebasedHTTPClient
from adapters.discord.settings import DiscordSettings
from adapters.discord.sink import DiscordSink
from adapters.parts import Parts
from bot.errors import ConfigError
from bot.messages import user_error

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
# Discord's gateway close codes for shards (checked 2026-12-07):
# https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes
_SHARD_REFUSALS = {
    4010: "Discord refused the shard (4010 Invalid shard): check DISCORD_SHARD_COUNT and "
    "DISCORD_SHARD_IDS (very large bots must run a multiple of the count Discord gave them)",
    4011: "Discord requires sharding (4011): unset DISCORD_SHARD_COUNT to run the count "
    "Discord recommends, or raise it",
}


class ImagineBot(commands.AutoShardedBot):
    def __init__(self, settings: DiscordSettings) -> None:
        self._rebase: Rebase | None = None  # a proxy's (or a test fake's) bases, if set
        if settings.api_base or settings.gateway_url:
            self._rebase = Rebase(settings.api_base, settings.gateway_url)
        intents = discord.Intents.default()
        intents.message_content = settings.message_content
        sharding: dict[str, Any] = {"shard_count": settings.shard_count}  # None: as recommended
        if settings.shard_ids is not None:  # none given: this process runs every shard
            sharding["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **sharding,
        )
        self.guild_ids = settings.guild_ids
        self._imagine: ImagineCog | None = None  # both set by ``attach``
        self._admin: AdminCog | None = None

    def _get_state(self, **options: Any) -> Any:
        """Where discord.py hands ``self.http`` on (connection state, then the command
        tree): this client's own HTTP client for a proxy goes in first; see rebase.py."""
        if self._rebase is not None:
            self.http = RebasedHTTPClient(self.loop, self._rebase)
        return super()._get_state(**options)

    def attach(self, imagine: ImagineCog, admin: AdminCog) -> None:
        """The cogs ``setup_hook`` adds once the bot has logged in."""
        self._imagine, self._admin = imagine, admin

    @property
    def imagine_cog(self) -> ImagineCog:
        if self._imagine is None:
            raise RuntimeError("ImagineBot.attach must come before the bot starts")
        return self._imagine

    async def setup_hook(self) -> None:
        if self._admin is None:
            raise RuntimeError("ImagineBot.attach must come before the bot starts")
        await self.add_cog(self.imagine_cog)
        await self.add_cog(self._admin)
        self.add_dynamic_items(JobButton)
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        if self.guild_ids:  # development: commands appear at once in these servers
            for gid in self.guild_ids:
                guild = discord.Object(gid)
                self.tree.copy_global_to(guild=guild)
                try:
                    await self.tree.sync(guild=guild)
                except discord.HTTPException as exc:  # e.g. 50001: the bot isn't in it
                    log.error("could not sync commands to server %s (%s)", gid, exc.code)
        else:
            await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: thread edits are the imagine cog's listener."""

    async def _on_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Whatever broke, the person is answered (never with the exception's text)."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log.error("command failed (%s)", type(cause).__name__, exc_info=cause)
        words = user_error(cause).message
        try:
            if interaction.response.is_done():
                await interaction.followup.send(words, ephemeral=True)
            else:
                await interaction.response.send_message(words, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not tell the user (%s)", exc.code)

    async def on_job_button(
        self, interaction: discord.Interaction[Any], action: str, job_id: str
    ) -> None:
        await self.imagine_cog.on_job_button(interaction, action, job_id)


class DiscordPlatform:
    def __init__(self, settings: DiscordSettings) -> None:
        self.bot = ImagineBot(settings)
        self.sink, self._token = DiscordSink(self.bot), settings.token
        self._task: asyncio.Task[None] | None = None

    def attach(self, parts: Parts) -> None:
        """The service (its sinks already include ours) and the admin commands' parts."""
        admin = AdminCog(
            parts.router, parts.quotas, parts.guilds, parts.user_rate, history=parts.history
        )
        self.bot.attach(ImagineCog(parts.service), admin)

    def mount(self, web_app: web.Application) -> None:
        """Discord reaches the bot over the gateway: nothing to serve."""

    async def start(self) -> None:
        await self.bot.login(self._token)
        self._task = asyncio.create_task(self.bot.connect(reconnect=True), name="discord-gateway")
        self._task.add_done_callback(_gateway_ended)
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {self._task, ready}, timeout=READY_TIMEOUT_S, return_when="FIRST_COMPLETED"
        )
        if self._task in done:
            ready.cancel()
            exc = self._task.exception()
            if isinstance(exc, discord.PrivilegedIntentsRequired):
                raise ConfigError(
                    "Discord refused the message content intent: enable it in the Developer "
                    "Portal (Bot → Message Content Intent) or set DISCORD_MESSAGE_CONTENT=false"
                )
            if isinstance(exc, discord.ConnectionClosed) and exc.code in _SHARD_REFUSALS:
                raise ConfigError(_SHARD_REFUSALS[exc.code])
            raise ConfigError(f"Discord connection ended: {type(exc).__name__}")
        if ready not in done:
            ready.cancel()
            log.warning("Discord: not ready after %ss; still trying", READY_TIMEOUT_S)
        else:
            log.info("Discord: connected as %s", self.bot.user)

    async def aclose(self) -> None:
        """Intake stays open while running jobs finish (they need the client); new
        requests meanwhile are told the bot is restarting."""

    async def close_http(self) -> None:
        await self.bot.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except Exception as exc:
                log.info("Discord gateway task ended with %s", type(exc).__name__)
            self._task = None


def _gateway_ended(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("Discord gateway stopped (%s); the bot no longer hears Discord",
                  type(task.exception()).__name__)  # fmt: skip


def build_discord(settings: DiscordSettings) -> DiscordPlatform:
    """The client and its sink; nothing connects until ``start``."""
    return DiscordPlatform(settings)
