"""Discord's settings, read once from ``bot.config.Settings`` (environment, then
``.env``) and shared by the platform (``build_discord``) and ``imagine-bot doctor``,
sharding (DISCORD_SHARD_COUNT, DISCORD_SHARD_IDS) included.
No discord.py here: reading them costs nothing when Discord is not configured.

The token is kept to be handed to discord.py, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from bot.errors import ConfigError

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

# Sharding, as Discord documents it (https://discord.com/developers/docs/events/gateway#sharding,
# checked 2026-12-07): each gateway connection IDENTIFYs with ``shard: [shard_id, num_shards]``
# and hears the servers with ``(guild_id >> 22) % num_shards == shard_id`` (events of no server,
# DMs among them, only on shard 0); at most 2,500 servers per shard, so a bot in 2,500 or more
# must shard; GET /gateway/bot recommends a count. Discord states no maximum count: ours only
# catches a typo (10,000 shards hold 25 million servers).
MAX_SHARDS = 10_000


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    token: str = field(repr=False)  # DISCORD_TOKEN
    guild_ids: tuple[int, ...]  # DISCORD_GUILD_IDS: sync commands to these at once (dev)
    message_content: bool  # DISCORD_MESSAGE_CONTENT: read plain messages in image threads
    api_base: str | None  # DISCORD_API_BASE: a REST proxy (or a test fake), incl. /api/v10
    gateway_url: str | None  # DISCORD_GATEWAY_URL: a gateway proxy (or a test fake)
    shard_count: int | None = None  # DISCORD_SHARD_COUNT: None = Discord's recommendation
    shard_ids: tuple[int, ...] | None = None  # DISCORD_SHARD_IDS: this process's; None = all

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
        count, shard_ids = _shards(
            settings.lookup("DISCORD_SHARD_COUNT"), settings.lookup("DISCORD_SHARD_IDS")
        )
        return cls(
            token=token,
            guild_ids=ids,
            message_content=flag in _TRUE,
            api_base=base.rstrip("/") if base else None,
            gateway_url=settings.lookup("DISCORD_GATEWAY_URL"),
            shard_count=count,
            shard_ids=shard_ids,
        )


def _shards(
    count_text: str | None, ids_text: str | None
) -> tuple[int | None, tuple[int, ...] | None]:
    """DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS, checked: the ids (sorted, as Discord wants
    shards started in order) need the count, each from 0 to count - 1, none twice."""
    count: int | None = None
    if count_text and count_text.strip():
        try:
            count = int(count_text)
        except ValueError:
            count = 0
        if not 1 <= count <= MAX_SHARDS:
            raise ConfigError(
                f"DISCORD_SHARD_COUNT must be a whole number from 1 to {MAX_SHARDS:,}"
            )
    if not ids_text or not ids_text.strip():
        return count, None
    if count is None:
        raise ConfigError(
            "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total, the same in every process)"
        )
    try:
        ids = [int(part) for part in ids_text.split(",")]
    except ValueError:
        raise ConfigError(
            "DISCORD_SHARD_IDS must be a comma list of shard numbers, e.g. 0,1"
        ) from None
    if any(not 0 <= i < count for i in ids):
        most = count - 1
        raise ConfigError(
            f"DISCORD_SHARD_IDS must be from 0 to {most} (DISCORD_SHARD_COUNT={count})"
        )
    if len(set(ids)) != len(ids):
        raise ConfigError("DISCORD_SHARD_IDS names a shard twice")
    return count, tuple(sorted(ids))
