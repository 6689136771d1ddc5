"""Gateway sessions of the fake Discord and how events are routed between them.

As Discord shards (both pages checked 2026-12-07: Gateway → Sharding,
https://discord.com/developers/docs/events/gateway#sharding, and the gateway close codes,
https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes):

- a session that IDENTIFYs with ``shard: [shard_id, num_shards]`` is sent the guilds, and
  their events, for which ``(guild_id >> 22) % num_shards == shard_id``;
- events without a ``guild_id`` (DMs among them) go only to shard 0;
- a session without ``shard`` is one unsharded connection: every guild;
- an invalid ``shard`` closes the connection with 4010 ("Invalid shard"), and a session
  that would hold more than 2,500 guilds with 4011 ("Sharding required");
- several sessions may be open at once, even on the same shard; each has its own
  sequence numbers (and so its own replay log for RESUME).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.platforms.discord_fake_types import Json

MAX_GUILDS_PER_SHARD = 2500  # Discord's documented maximum per shard (see above)
INVALID_SHARD, SHARDING_REQUIRED = 4010, 4011


def shard_of(guild_id: int | None, num_shards: int) -> int:
    """The shard that gets a guild's events; 0 for events of no guild."""
    return 0 if guild_id is None else (guild_id >> 22) % num_shards


def parse_shard(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` as ``(shard_id, num_shards)``; ``ValueError`` if invalid."""
    if value is None:
        return None
    valid = isinstance(value, list) and len(value) == 2
    valid = valid and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not valid or not 0 <= value[0] < value[1]:
        raise ValueError(f"invalid shard {value!r}")
    return value[0], value[1]


def guild_of_event(event: str, data: Json) -> int | None:
    """The guild an event belongs to: a guild event's own id, else its ``guild_id``."""
    raw = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE") else data.get("guild_id")
    return int(raw) if raw is not None else None


@dataclass
class Session:
    """One identified gateway session (a shard, or the whole bot when unsharded)."""

    session_id: str
    identify: Json
    intents: int
    shard: tuple[int, int] | None
    ws: web.WebSocketResponse | None
    seq: int = 0
    events: list[tuple[int, str, Json]] = field(default_factory=list)  # for RESUME and asserts

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    def hears(self, guild_id: int | None) -> bool:
        """Whether Discord routes an event of ``guild_id`` (None: no guild) here."""
        if self.shard is None:
            return True
        shard_id, num_shards = self.shard
        return shard_of(guild_id, num_shards) == shard_id

    def next_seq(self, event: str, data: Json) -> int:
        self.seq += 1
        self.events.append((self.seq, event, data))
        return self.seq
