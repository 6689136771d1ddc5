"""Vocabulary of the fake Discord: API constants (intents, permissions, flags, channel and
message types), snowflakes, users, uploads, and the form error Discord answers 400 with."""

from __future__ import annotations

import copy
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Permission bits.
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1
EVERYONE_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

CHANNEL_TEXT, CHANNEL_DM, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD = 0, 1, 11, 12
THREAD_TYPES = (CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD)
MESSAGE_DEFAULT, MESSAGE_REPLY, MESSAGE_CHAT_INPUT = 0, 19, 20


def iso(moment: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if moment is None else moment, UTC).isoformat()


def snowflake_iso(snowflake: int) -> str:
    return iso(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000)


class Snowflakes:
    """Time-based, strictly increasing ids, like Discord's (discord.py reads their time)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, num_shards: int) -> int:
        """The next id whose guild the gateway sends to ``shard_id``: Discord's sharding
        formula, ``(guild_id >> 22) % num_shards`` (see discord_fake_gateway.py)."""
        found = self.next()
        while (found >> 22) % num_shards != shard_id:
            found += 1 << 22
        self._last = found
        return found


@dataclass(frozen=True)
class FakeUser:
    id: int
    username: str
    bot: bool = False
    role_ids: tuple[int, ...] = ()

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None if self.bot else self.username.title(),
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(frozen=True)
class Upload:
    """A file as the client uploaded it (multipart ``files[n]``) or a test user attaches it."""

    filename: str
    data: bytes
    content_type: str | None = None


class FormError(Exception):
    """A 400 "Invalid Form Body" (code 50035) with Discord's nested ``errors`` object."""

    def __init__(self, errors: Json) -> None:
        super().__init__("Invalid Form Body")
        self.errors = errors


def image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:4] == b"GIF8" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    return None


def resolve_embeds(embeds: list[Json], attachments: list[Json]) -> list[Json]:
    """Embeds as Discord stores them: ``attachment://name`` media point at the upload."""
    by_name = {a["filename"]: a for a in attachments}
    resolved = []
    for embed in copy.deepcopy(embeds):
        embed.setdefault("type", "rich")
        for key in ("image", "thumbnail"):
            media = embed.get(key) or {}
            url = str(media.get("url", ""))
            attachment = by_name.get(url.removeprefix("attachment://"))
            if url.startswith("attachment://") and attachment is not None:
                media.update(url=attachment["url"], proxy_url=attachment["proxy_url"])
                media.update({k: attachment[k] for k in ("width", "height") if k in attachment})
        resolved.append(embed)
    return resolved
