"""What the fake Discord knows: its guilds (one unless a test adds more), their channels
and users; its messages and stored files are ``FakeMessages``' (discord_fake_messages.py).
Every guild has the same members and roles (besides its own @everyone, whose id is the
guild's, as on Discord).

Builds the JSON objects Discord's API v10 sends (members, guild, channels, threads,
messages, attachments) so the gateway, REST and interaction routes share one truth.
"""

from __future__ import annotations

from typing import Any

from tests.platforms.discord_fake_messages import FakeMessages
from tests.platforms.discord_fake_types import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    CHANNEL_DM,
    CHANNEL_PUBLIC_THREAD,
    CHANNEL_TEXT,
    EVERYONE_PERMISSIONS,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    MANAGE_GUILD,
    PRIVILEGED_INTENTS,
    THREAD_TYPES,
    FakeUser,
    Json,
    Snowflakes,
    iso,
    snowflake_iso,
)

MIB = 1024 * 1024
DEFAULT_UPLOAD_LIMIT = 10 * MIB  # Discord's documented default since 2025-01-16
BOOST_UPLOAD_LIMITS = {2: 50 * MIB, 3: 100 * MIB}  # boost tiers 0 and 1: the default


class FakeStore(FakeMessages):
    def __init__(self) -> None:
        self.ids = Snowflakes()
        self.base_url = ""  # http://127.0.0.1:PORT, set once the server is bound
        self.application_id = 1_100_000_000_000_000_001  # a bot's user id is its application id
        self.guild_id = 1_100_000_000_000_000_100
        self.channel_id = 1_100_000_000_000_000_200
        self.mod_role_id = 1_100_000_000_000_000_110
        self.bot_role_id = 1_100_000_000_000_000_111
        self.bot_user = FakeUser(self.application_id, "imagine-bot", True, (self.bot_role_id,))
        base = 1_100_000_000_000_000_300
        self.users: dict[str, FakeUser] = {
            "alice": FakeUser(base + 1, "alice"),
            "bob": FakeUser(base + 2, "bob"),
            "mod": FakeUser(base + 3, "mod", role_ids=(self.mod_role_id,)),
            "owner": FakeUser(base + 4, "owner"),
            "bot": self.bot_user,
        }
        self.roles: dict[int, Json] = {
            self.guild_id: self._role(self.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0),
            self.mod_role_id: self._role(self.mod_role_id, "Mods", MANAGE_GUILD, 1),
            self.bot_role_id: self._role(self.bot_role_id, "imagine-bot", 0, 2, managed=True),
        }
        self.guilds: dict[int, str] = {self.guild_id: "Imagine Test Guild"}  # id -> name
        self.channels: dict[int, Json] = {
            self.channel_id: self._text_channel("imagine", self.guild_id, self.channel_id)
        }
        self.messages: dict[int, Json] = {}
        self.blobs: dict[int, bytes] = {}
        self.global_commands: list[Json] = []
        self.guild_commands: dict[int, list[Json]] = {}
        self.permission_overrides: dict[int, int] = {}  # user id -> guild permissions
        self.enabled_privileged_intents = PRIVILEGED_INTENTS  # the "Bot" page toggles
        self.premium_tier = 0  # the guild's boost tier
        self.default_upload_limit = DEFAULT_UPLOAD_LIMIT

    # --- users, roles, permissions -------------------------------------------------------

    def user(self, user_id: int) -> FakeUser | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    def permissions_of(self, user: FakeUser) -> int:
        if user.id in self.permission_overrides:
            return self.permission_overrides[user.id]
        if user.id == self.users["owner"].id:
            return ALL_PERMISSIONS
        value = int(self.roles[self.guild_id]["permissions"])
        for role_id in user.role_ids:
            value |= int(self.roles[role_id]["permissions"])
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def member_payload(self, user: FakeUser, *, with_user: bool = True) -> Json:
        data: Json = {
            "roles": [str(r) for r in user.role_ids],
            "joined_at": snowflake_iso(self.guild_id),
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = user.payload()
        return data

    def application_flags(self) -> int:
        """GATEWAY_*_LIMITED flags (bots in < 100 guilds) for the enabled privileged intents."""
        flags = {INTENT_GUILD_PRESENCES: 1 << 13, INTENT_GUILD_MEMBERS: 1 << 15}
        flags[INTENT_MESSAGE_CONTENT] = 1 << 19
        return sum(f for i, f in flags.items() if self.enabled_privileged_intents & i)

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> tuple[int, int]:
        """Another guild with one text channel: (guild id, channel id). ``shard``
        ``(shard_id, num_shards)``: an id the gateway routes to that shard."""
        guild_id = self.ids.next() if shard is None else self.ids.next_on_shard(*shard)
        channel_id = self.ids.next()
        self.guilds[guild_id] = name
        self.roles[guild_id] = self._role(guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)
        self.channels[channel_id] = self._text_channel(name.lower(), guild_id, channel_id)
        return guild_id, channel_id

    def guild_of(self, channel_id: int) -> int | None:
        channel = self.channels.get(channel_id)
        return int(channel["guild_id"]) if channel and "guild_id" in channel else None

    def guild_payload(self, guild_id: int | None = None, *, all_members: bool) -> Json:
        guild_id = guild_id or self.guild_id
        members = [u for u in self.users.values() if all_members or u.bot]
        roles = [r for role_id, r in self.roles.items() if role_id not in self.guilds]
        here = [c for c in self.channels.values() if c.get("guild_id") == str(guild_id)]
        return {
            "id": str(guild_id),
            "name": self.guilds[guild_id],
            "icon": None,
            "owner_id": str(self.users["owner"].id),
            "unavailable": False,
            "large": False,
            "member_count": len(self.users),
            "joined_at": snowflake_iso(guild_id),
            "roles": [self.roles[guild_id], *roles],
            "channels": [c for c in here if c["type"] == CHANNEL_TEXT],
            "threads": [c for c in here if c["type"] in THREAD_TYPES],
            "members": [self.member_payload(u) for u in members],
            "presences": [],
            "voice_states": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "preferred_locale": "en-US",
            "premium_tier": self.premium_tier,
            "system_channel_id": next((c["id"] for c in here if c["type"] == CHANNEL_TEXT), None),
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
        }

    def _role(self, role_id: int, name: str, perms: int, position: int, **extra: Any) -> Json:
        role: Json = {"id": str(role_id), "name": name, "permissions": str(perms), **extra}
        return role | {"position": position, "color": 0, "hoist": False, "mentionable": False}

    # --- channels and threads ------------------------------------------------------------

    def _text_channel(self, name: str, guild_id: int, channel_id: int) -> Json:
        return {
            "id": str(channel_id),
            "type": CHANNEL_TEXT,
            "guild_id": str(guild_id),
            "name": name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    def add_text_channel(self, name: str) -> int:
        """Another text channel in the first guild; its id."""
        channel_id = self.ids.next()
        self.channels[channel_id] = self._text_channel(name, self.guild_id, channel_id)
        return channel_id

    def channel(self, channel_id: int) -> Json | None:
        return self.channels.get(channel_id)

    def upload_limit(self, channel_id: int) -> int:
        """Bytes per file a user without Nitro (or the bot) may upload to a channel: the
        default, or more in a guild boosted to tier 2 or 3 (threads count as the guild)."""
        if not self.is_guild_channel(channel_id):
            return self.default_upload_limit
        return max(self.default_upload_limit, BOOST_UPLOAD_LIMITS.get(self.premium_tier, 0))

    def is_guild_channel(self, channel_id: int) -> bool:
        channel = self.channels.get(channel_id)
        return channel is not None and "guild_id" in channel

    def dm_channel(self, user: FakeUser) -> Json:
        for channel in self.channels.values():
            if channel["type"] == CHANNEL_DM and channel["recipients"][0]["id"] == str(user.id):
                return channel
        channel_id = self.ids.next()
        channel = {
            "id": str(channel_id),
            "type": CHANNEL_DM,
            "recipients": [user.payload()],
            "last_message_id": None,
            "flags": 0,
        }
        self.channels[channel_id] = channel
        return channel

    def create_thread(
        self, parent_id: int, *, name: str, owner: FakeUser, thread_id: int, body: Json
    ) -> Json:
        now = iso()
        thread: Json = {
            "id": str(thread_id),
            "type": int(body.get("type") or CHANNEL_PUBLIC_THREAD),
            "guild_id": str(self.guild_of(parent_id) or self.guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(owner.id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": int(body.get("auto_archive_duration") or 4320),
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "member": {
                "id": str(thread_id),
                "user_id": str(owner.id),
                "join_timestamp": now,
                "flags": 0,
            },
        }
        self.channels[thread_id] = thread
        return thread
