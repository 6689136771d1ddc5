"""``/imagine-status``, ``/imagine-usage`` and ``/imagine-admin …`` (answered
privately). Admins: members with Manage Server, ``IMAGINE_ADMIN_USERS`` and a
server's stored admins; anyone else is refused and nothing changes."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import embeds
from adapters.discord.listeners import workspace_of
from adapters.status_chart import FILENAME, status_chart
from bot.admin import Admin
from bot.bounds import MAX_BUDGET_USD, MAX_DAILY_IMAGES
from bot.errors import InputError
from bot.guild_settings import GuildSettings
from bot.messages import user_error
from bot.quotas import Quotas
from bot.router import Router
from bot.status_history import StatusHistory
from bot.status_text import status_view

log = logging.getLogger(__name__)

NOT_ADMIN = (
    "Only members with Manage Server (or users listed in IMAGINE_ADMIN_USERS) can change "
    "imagine-bot's settings. Nothing was changed."
)


class AdminCog(commands.Cog):
    admin = app_commands.Group(
        name="imagine-admin", description="imagine-bot settings for this server", guild_only=True
    )

    def __init__(
        self,
        router: Router,
        quotas: Quotas,
        guilds: GuildSettings,
        rate: str | None,
        *,
        history: StatusHistory | None = None,
    ):
        self.router, self.quotas, self.guilds, self.rate = router, quotas, guilds, rate
        self._changes = Admin(guilds, quotas)
        self.history = history  # the status chart's samples (None: no chart)

    @app_commands.command(name="imagine-status", description="Each image model's state")
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        """The status embed, then the status chart as a follow-up (both seen by the
        caller alone); a chart that fails leaves the embed as the answer."""
        view = status_view(self.router.board, datetime.now(UTC))
        await interaction.response.send_message(embed=embeds.status_embed(view), ephemeral=True)
        png = await status_chart(self.router, self.history)
        if png is None:
            return
        try:
            chart = discord.File(io.BytesIO(png), filename=FILENAME)
            await interaction.followup.send(file=chart, ephemeral=True)
        except Exception as exc:
            log.warning("status chart not sent (%s)", type(exc).__name__)

    @app_commands.command(name="imagine-usage", description="Images and spend, with the limits")
    async def usage(self, interaction: discord.Interaction[Any]) -> None:
        ws = "discord:" + workspace_of(interaction.guild, interaction.user)
        whole = await self.quotas.usage(ws)
        mine = await self.quotas.usage(ws, user=str(interaction.user.id))
        embed = embeds.usage_embed(workspace=whole, mine=mine, limits=whole.limits, rate=self.rate)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    # -- /imagine-admin …------------------------------------------------------
    @admin.command(name="show", description="This server's settings")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        if ws := await self._admin(interaction):
            cfg, limits = await self.guilds.get(ws), await self.quotas.get_limits(ws)
            chain = [r.model.id for r in self.router.routes]
            embed = embeds.admin_show_embed(cfg, limits, chain)
            await interaction.response.send_message(embed=embed, ephemeral=True)

    @admin.command(name="status-channel", description="Announce model outages in this channel")
    async def status_channel(self, interaction: discord.Interaction[Any]) -> None:
        if ws := await self._admin(interaction):
            channel, user = str(interaction.channel_id), str(interaction.user.id)
            said = await self._changes.change(
                ["status-channel"],
                workspace=ws,
                user=user,
                channel=channel,
                shown_as=f"<#{channel}>",
            )
            await self._say(interaction, said or "")

    @admin.command(name="quota", description="Images per day for this server (0: unlimited)")
    async def quota(
        self,
        interaction: discord.Interaction[Any],
        daily: app_commands.Range[int, 0, MAX_DAILY_IMAGES],
    ) -> None:
        if ws := await self._admin(interaction):
            await self._say(interaction, await _said(self._changes.daily(ws, daily)))

    @admin.command(name="budget", description="USD per month for this server (0: unlimited)")
    async def budget(
        self,
        interaction: discord.Interaction[Any],
        usd: app_commands.Range[float, 0, MAX_BUDGET_USD],
    ) -> None:
        if ws := await self._admin(interaction):
            await self._say(interaction, await _said(self._changes.budget(ws, usd)))

    @admin.command(
        name="models", description="This server's model chain, best first ('default' to reset)"
    )
    async def models(self, interaction: discord.Interaction[Any], chain: str) -> None:
        if ws := await self._admin(interaction):
            by = str(interaction.user.id)
            await self._say(interaction, await _said(self._changes.models(ws, chain, by=by)))

    @admin.command(
        name="safety-failover", description="Try the next model when one declines a prompt"
    )
    async def safety_failover(self, interaction: discord.Interaction[Any], on: bool) -> None:
        if ws := await self._admin(interaction):
            by = str(interaction.user.id)
            await self._say(interaction, await self._changes.safety_failover(ws, on, by=by))

    async def _admin(self, interaction: discord.Interaction[Any]) -> str | None:
        """The workspace key if the caller may change it; else refuse (and None)."""
        ws = "discord:" + workspace_of(interaction.guild, interaction.user)
        perms = getattr(interaction, "permissions", None)
        if (perms is not None and perms.manage_guild) or await self.guilds.is_admin(
            ws, str(interaction.user.id)
        ):
            return ws
        await interaction.response.send_message(NOT_ADMIN, ephemeral=True)
        return None

    @staticmethod
    async def _say(interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True)


async def _said(change: Awaitable[str]) -> str:
    """What a change says — or, for a value it refuses (past a limit), why."""
    try:
        return await change
    except InputError as exc:
        return user_error(exc).message
