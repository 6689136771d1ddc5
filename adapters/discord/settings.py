"""Discord's settings, read once from ``bot.config.Settings`` (environment, then
``.env``) and shared by the platform (``build_discord``) and ``imagine-bot doctor``.
No discord.py here: reading them costs nothing when Discord is not configured.

The token is kept to be handed to discord.py, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from bot.errors import ConfigError

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    token: str = field(repr=False)  # DISCORD_TOKEN
    guild_ids: tuple[int, ...]  # DISCORD_GUILD_IDS: sync commands to these at once (dev)
    message_content: bool  # DISCORD_MESSAGE_CONTENT: read plain messages in image threads
    api_base: str | None  # DISCORD_API_BASE: a REST proxy (or a test fake), incl. /api/v10
    gateway_url: str | None  # DISCORD_GATEWAY_URL: a gateway proxy (or a test fake)

    @classmethod
    def read(cls, settings: Settings) -> DiscordSettings | None:
        """Discord's settings if ``DISCORD_TOKEN`` is set, else None (Discord is off).
        A value that cannot be read raises ``ConfigError`` naming the variable."""
        token = settings.lookup("DISCORD_TOKEN")
        if not token:
            return None
        try:
            ids = tuple(
                int(g) for g in (settings.lookup("DISCORD_GUILD_IDS") or "").split(",") if g.strip()
            )
        except ValueError:
            raise ConfigError("DISCORD_GUILD_IDS must be a comma list of server ids") from None
        flag = (settings.lookup("DISCORD_MESSAGE_CONTENT") or "true").strip().lower()
        if flag not in _TRUE + _FALSE:
            raise ConfigError("DISCORD_MESSAGE_CONTENT must be true or false")
        base = settings.lookup("DISCORD_API_BASE")
        return cls(
            token=token,
            guild_ids=ids,
            message_content=flag in _TRUE,
            api_base=base.rstrip("/") if base else None,
            gateway_url=settings.lookup("DISCORD_GATEWAY_URL"),
        )
