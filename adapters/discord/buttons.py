"""Retry · Vary · Upscale 4K: persistent buttons whose ``custom_id`` carries the
job id (``imagine:<action>:<job id>``), so a click works after a restart — the
bot registers the template, not each message's view."""

from __future__ import annotations

import re
from typing import Any

import discord

from adapters.discord import embeds

LABELS = {
    embeds.RETRY: ("Retry", "🔄"),
    embeds.VARY: ("Vary", "🎲"),
    embeds.UPSCALE: ("Upscale 4K", "🔍"),
}


class JobButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=embeds.CUSTOM_ID_PATTERN):
    def __init__(self, action: str, job_id: str) -> None:
        label, emoji = LABELS[action]
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=embeds.custom_id(action, job_id),
            )
        )
        self.action, self.job_id = action, job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> JobButton:
        return cls(match["action"], match["job"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler = getattr(interaction.client, "on_job_button", None)
        if handler is not None:
            await handler(interaction, self.action, self.job_id)
