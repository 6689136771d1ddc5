"""FakeDiscord: Discord's REST API v10, Gateway and CDN on 127.0.0.1, for a real discord.py bot.

    async with FakeDiscord() as fake:
        with patch_discord(fake):  # discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
            bot = commands.Bot(..., guild_ready_timeout=0.1)
            await bot.login(fake.token)
            task = asyncio.create_task(bot.connect(reconnect=False))
            await bot.wait_until_ready()
            await bot.tree.sync(guild=discord.Object(fake.guild_id))
            interaction = await fake.slash("imagine", {"prompt": "a cat"})
            reply = await fake.wait_for(lambda: fake.original_response(interaction["token"]))

One guild (``guild_id``; ``add_guild`` adds more) with one text channel (``channel_id``),
users ``alice``, ``bob``,
``mod`` (Manage Server) and ``owner``; the bot user's id is the application id. It answers
like Discord does where bots notice: exact ``application/json`` bodies and error codes, the
3-second ack window (10062), single ack (40060), 15-minute webhook tokens (50027), the
message-content intent, 429s with ``Via``, thread ids equal to their starter message's id,
per-file upload limits (413, code 40005): an interaction's announced ``attachment_size_limit``
for its responses, else the default (``upload_limit``) raised by the boost ``premium_tier``.
Modules: ``_types`` (constants, users), ``_store`` (state and payloads), ``_wire`` (HTTP
plumbing, validation), ``_gateway``, ``_shards`` (sessions, which shard hears which guild),
``_rest``, ``_interactions``, ``_commands``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from types import TracebackType
from typing import Any, Self, TypeVar

import yarl
from aiohttp import web
from discord.gateway import DiscordWebSocket
from discord.http import Route

from tests.platforms.discord_fake_gateway import FakeGateway
from tests.platforms.discord_fake_interactions import InteractionApi
from tests.platforms.discord_fake_rest import RestApi
from tests.platforms.discord_fake_shards import MAX_GUILDS_PER_SHARD
from tests.platforms.discord_fake_store import DEFAULT_UPLOAD_LIMIT, FakeStore
from tests.platforms.discord_fake_types import (
    PRIVILEGED_INTENTS,
    THREAD_TYPES,
    FakeUser,
    Json,
    Upload,
)
from tests.platforms.discord_fake_wire import API_PREFIX, ApiError, FakeCall, Wire

T = TypeVar("T")


class FakeDiscord:
    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        ack_deadline: float = 3.0,
        heartbeat_interval_ms: int = 41_250,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        premium_tier: int = 0,
        privileged_intents: int = PRIVILEGED_INTENTS,
        recommended_shards: int = 1,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
    ) -> None:
        """``privileged_intents``: the ones switched on in the developer portal; asking
        for others closes the gateway with 4014. ``upload_limit``: Discord's default
        upload limit per file (bytes); ``premium_tier``: the guild's boost tier, which
        raises it there (tier 2: 50 MiB, tier 3: 100 MiB) — see ``upload_limit_in``.
        ``recommended_shards``: GET /gateway/bot's ``shards``; ``max_guilds_per_shard``:
        a session that would get more guilds is closed with 4011 (Discord: 2,500)."""
        self.token = token
        self.store = FakeStore()
        self.store.enabled_privileged_intents = privileged_intents
        self.store.default_upload_limit = upload_limit
        self.store.premium_tier = premium_tier
        self._changed = asyncio.Event()
        self.wire = Wire(token=token, on_change=self._notify)
        self.gateway = FakeGateway(
            self.store,
            token=token,
            heartbeat_interval_ms=heartbeat_interval_ms,
            on_change=self._notify,
            max_guilds_per_shard=max_guilds_per_shard,
        )
        self.rest = RestApi(self.store, self.gateway)
        self.rest.recommended_shards = recommended_shards
        self.interactions = InteractionApi(self.store, self.gateway, ack_deadline=ack_deadline)
        self._runner: web.AppRunner | None = None
        self.http_base = self.rest_base = self.gateway_url = ""

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self.wire.middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.add_routes([*self.rest.routes(), *self.interactions.routes()])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.http_base = self.store.base_url = f"http://127.0.0.1:{port}"
        self.rest_base = self.http_base + API_PREFIX
        self.gateway_url = self.gateway.url = f"ws://127.0.0.1:{port}/gateway"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # --- who and where ----------------------------------------------------------------------

    @property
    def application_id(self) -> int:
        return self.store.application_id

    @property
    def guild_id(self) -> int:
        return self.store.guild_id

    @property
    def channel_id(self) -> int:
        return self.store.channel_id

    @property
    def bot_user(self) -> FakeUser:
        return self.store.bot_user

    @property
    def users(self) -> dict[str, FakeUser]:
        return self.store.users

    @property
    def alice(self) -> FakeUser:
        return self.store.users["alice"]

    @property
    def bob(self) -> FakeUser:
        return self.store.users["bob"]

    @property
    def mod(self) -> FakeUser:
        return self.store.users["mod"]

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> tuple[int, int]:
        """Another guild the bot is in, with one text channel: ``(guild_id, channel_id)``.
        ``shard=(shard_id, num_shards)``: its id is one the gateway routes to that shard.
        Clients that identify afterwards get it."""
        return self.store.add_guild(name, shard=shard)

    def set_permissions(self, user: FakeUser, permissions: int | None) -> None:
        """Guild permissions of ``user`` (the bot too); ``None`` goes back to its roles'."""
        if permissions is None:
            self.store.permission_overrides.pop(user.id, None)
        else:
            self.store.permission_overrides[user.id] = permissions

    def dm_channel(self, user: FakeUser) -> Json:
        return self.store.dm_channel(user)

    def upload_limit_in(self, channel_id: int | None = None) -> int:
        """The most bytes per file the bot (or anyone without Nitro) may upload there;
        uploads above it are refused with 413 (code 40005). Interactions announce their
        own ``attachment_size_limit`` and are held to that instead."""
        return self.store.upload_limit(channel_id or self.channel_id)

    # --- what happened ----------------------------------------------------------------------

    @property
    def calls(self) -> list[FakeCall]:
        return self.wire.calls

    @property
    def events(self) -> list[tuple[int, str, Json]]:
        return self.gateway.events

    @property
    def identify(self) -> Json | None:
        return self.gateway.identify

    @property
    def callbacks(self) -> list[Json]:
        return self.interactions.callbacks

    @property
    def threads(self) -> list[Json]:
        return [c for c in self.store.channels.values() if c["type"] in THREAD_TYPES]

    @property
    def global_commands(self) -> list[Json]:
        return self.store.global_commands

    def guild_commands(self, guild_id: int | None = None) -> list[Json]:
        return self.store.guild_commands.get(guild_id or self.guild_id, [])

    def messages(self, channel_id: int | None = None) -> list[Json]:
        return self.store.messages_in(channel_id or self.channel_id)

    def message(self, message_id: int | str) -> Json | None:
        return self.store.messages.get(int(message_id))

    def original_response(self, interaction_token: str) -> Json | None:
        record = self.interactions.by_token.get(interaction_token)
        if record is None or record.original_id is None:
            return None
        return self.store.messages.get(record.original_id)

    def attachment_bytes(self, attachment: Json) -> bytes:
        return self.store.blobs[int(attachment["id"])]

    def calls_to(self, method: str, path_glob: str) -> list[FakeCall]:
        return [c for c in self.calls if c.method == method and fnmatchcase(c.path, path_glob)]

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's API, like asyncio.wait_for
    ) -> T:
        """Re-check ``predicate`` after each change to the fake (request, frame, dispatch)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    result = predicate()
                    if result:
                        return result
                    await changed.wait()
        except TimeoutError:
            recent = "\n".join(f"  {c.method} {c.path} -> {c.status}" for c in self.calls[-12:])
            raise AssertionError(f"not true within {timeout}s; last calls:\n{recent}") from None

    # --- test drivers -----------------------------------------------------------------------

    async def dispatch(self, event: str, data: Json) -> int:
        return await self.gateway.dispatch(event, data)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; discord.py then RESUMEs (missed dispatches are replayed)."""
        await self.gateway.request_reconnect()

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        channel: int | None = None,
        attachments: Mapping[str, Upload | tuple[str, bytes]] | None = None,
        guild: bool = True,
        attachment_size_limit: int | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> Json:
        """Invoke ``/name`` (``"group sub"`` for subcommands) as a user; options are checked
        against the synced command. ``attachment_size_limit``: what the interaction announces
        (e.g. more for a Nitro user); by default the channel's (``upload_limit_in``).
        Responses and follow-ups with a larger file are refused with 413. Returns the
        INTERACTION_CREATE payload."""
        user = user or self.alice
        if channel is None:
            channel = self.channel_id if guild else int(self.dm_channel(user)["id"])
        return await self.interactions.slash(
            name,
            options or {},
            user=user,
            channel_id=channel,
            attachments=attachments or {},
            guild=guild,
            size_limit=attachment_size_limit,
            permissions=permissions,
            locale=locale,
        )

    async def click(
        self,
        custom_id: str,
        message_id: int | str,
        *,
        user: FakeUser | None = None,
        values: list[str] | None = None,
        permissions: int | None = None,
        attachment_size_limit: int | None = None,
    ) -> Json:
        """Press a button (or pick ``values`` in a select) that is on the stored message;
        ``attachment_size_limit`` as in ``slash``."""
        return await self.interactions.click(
            custom_id,
            int(message_id),
            user=user or self.alice,
            values=values,
            permissions=permissions,
            size_limit=attachment_size_limit,
        )

    async def user_message(
        self,
        channel_id: int | str | None = None,
        content: str = "",
        *,
        author: FakeUser | None = None,
        attachments: Sequence[Upload | tuple[str, bytes]] = (),
        mentions: Sequence[FakeUser] = (),
        message_reference: int | str | None = None,
    ) -> Json:
        """A user posts; the bot gets MESSAGE_CREATE as Discord would send it (intents,
        message content). Mentions are read from ``<@id>`` in content too; replying to the
        bot mentions it. Returns the message as users see it."""
        if self.gateway.session_id is None:
            raise RuntimeError("no bot is connected to the fake gateway")
        target = int(channel_id or self.channel_id)
        if self.store.channel(target) is None:
            raise LookupError(f"no channel {target}")
        uploads = {
            index: item if isinstance(item, Upload) else Upload(*item)
            for index, item in enumerate(attachments)
        }
        body: Json = {"content": content}
        if message_reference is not None:
            body["message_reference"] = {"message_id": str(message_reference)}
        author = author or self.alice
        message = self.store.create_message(target, author, body, uploads, mentions=list(mentions))
        await self.gateway.publish_message("MESSAGE_CREATE", message)
        return message

    # --- fault injection --------------------------------------------------------------------

    def expire_token(self, interaction_token: str) -> None:
        """Jump past the 15 minutes: the interaction webhook answers 401 code 50027."""
        self.interactions.by_token[interaction_token].expired = True

    def answer_late(self, route: str, seconds: float) -> None:
        """Answer requests that carry files and match ``route`` ("METHOD /path-glob", as
        ``rate_limit_next``) ``seconds`` late: each takes effect at once, its answer
        waits (0: on time again)."""
        self.wire.late = [(p, t) for p, t in self.wire.late if p != route]
        if seconds > 0:
            self.wire.late.append((route, seconds))

    def refuse_next(self, route: str, *, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``route`` with Discord's 403 for a
        bot that lacks a permission there (code 50013, "Missing Permissions")."""
        self.wire.refuse_next(route, ApiError(403, 50013, "Missing Permissions"), times=times)

    def rate_limit_next(
        self,
        route: str,
        retry_after: float,
        *,
        times: int = 1,
        is_global: bool = False,
        via: bool = True,
    ) -> None:
        """Answer the next ``times`` requests matching ``route`` ("METHOD /path-glob",
        path after /api/v10, e.g. ``"POST /channels/*/messages"``) with a 429."""
        self.wire.rate_limit_next(route, retry_after, times=times, is_global=is_global, via=via)


@contextlib.contextmanager
def patch_discord(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at ``fake``; restored on exit."""
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = fake.rest_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
