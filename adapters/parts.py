"""What a chat platform is handed once the service exists (``Platform.attach``): the
service for its listeners, and what its admin, status and usage commands read."""

from __future__ import annotations

from dataclasses import dataclass

from bot.guild_settings import GuildSettings
from bot.quotas import Quotas
from bot.router import Router
from bot.service import ImagineService
from bot.status_history import StatusHistory


@dataclass(frozen=True, slots=True)
class Parts:
    service: ImagineService
    router: Router
    quotas: Quotas
    guilds: GuildSettings
    user_rate: str | None  # the per-person rate, as the usage commands state it
    history: StatusHistory | None = None  # the status chart's samples (None: no chart)
