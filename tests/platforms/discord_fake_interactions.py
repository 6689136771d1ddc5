"""Interactions in the fake Discord: INTERACTION_CREATE for slash commands and component
clicks, the callback endpoint with its 3-second window and single ack, and
the interaction webhook (follow-ups, @original) with a 15-minute token."""

from __future__ import annotations

import asyncio
import copy
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.platforms.discord_fake_commands import SlashCommandData, pressable
from tests.platforms.discord_fake_gateway import FakeGateway
from tests.platforms.discord_fake_store import FakeStore
from tests.platforms.discord_fake_types import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    MESSAGE_CHAT_INPUT,
    MESSAGE_DEFAULT,
    FakeUser,
    Json,
    Upload,
)
from tests.platforms.discord_fake_wire import (
    API_PREFIX,
    BODY,
    UPLOADS,
    ApiError,
    json_response,
    validate_message,
)

APPLICATION_COMMAND, MESSAGE_COMPONENT = 2, 3
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9


@dataclass
class InteractionRecord:
    payload: Json
    user: FakeUser
    channel_id: int
    size_limit: int
    dispatched_at: float = 0.0
    message_id: int | None = None  # the message a clicked component sits on
    response_type: int | None = None
    original_id: int | None = None
    message_ids: set[int] = field(default_factory=set)
    expired: bool = False

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def type(self) -> int:
        return int(self.payload["type"])


class InteractionApi:
    def __init__(self, store: FakeStore, gateway: FakeGateway, *, ack_deadline: float) -> None:
        self.store = store
        self.gateway = gateway
        self.ack_deadline = ack_deadline
        self.by_id: dict[int, InteractionRecord] = {}
        self.by_token: dict[str, InteractionRecord] = {}
        self.callbacks: list[Json] = []
        self.commands = SlashCommandData(store)

    def routes(self) -> list[web.RouteDef]:
        hook = API_PREFIX + "/webhooks/{app_id}/{token}"
        return [
            web.post(API_PREFIX + "/interactions/{interaction_id}/{token}/callback", self.callback),
            web.post(hook, self.followup),
            web.get(hook + "/messages/{message_id}", self.get_message),
            web.patch(hook + "/messages/{message_id}", self.edit_message),
            web.delete(hook + "/messages/{message_id}", self.delete_message),
        ]

    # --- drivers ----------------------------------------------------------------------------

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        user: FakeUser,
        channel_id: int,
        attachments: Mapping[str, Upload | tuple[str, bytes]],
        guild: bool,
        size_limit: int | None,
        permissions: int | None,
        locale: str,
    ) -> Json:
        perms = self.store.permissions_of(user) if permissions is None else permissions
        guild_id = (self.store.guild_of(channel_id) or self.store.guild_id) if guild else None
        data = self.commands.build(
            name, options, attachments, user=user, guild_id=guild_id, permissions=perms
        )
        return await self._dispatch(
            APPLICATION_COMMAND, data, user, channel_id, guild, size_limit, perms, locale
        )

    async def click(
        self,
        custom_id: str,
        message_id: int,
        *,
        user: FakeUser,
        values: list[str] | None,
        permissions: int | None,
        size_limit: int | None,
    ) -> Json:
        message = self.store.messages.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id}")
        component = pressable(message, custom_id)
        data: Json = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = list(values)
        channel_id = int(message["channel_id"])
        guild = self.store.is_guild_channel(channel_id)
        perms = self.store.permissions_of(user) if permissions is None else permissions
        return await self._dispatch(
            MESSAGE_COMPONENT, data, user, channel_id, guild, size_limit, perms, "en-US", message
        )

    async def _dispatch(
        self,
        kind: int,
        data: Json,
        user: FakeUser,
        channel_id: int,
        guild: bool,
        size_limit: int | None,
        permissions: int,
        locale: str,
        message: Json | None = None,
    ) -> Json:
        store = self.store
        channel = store.channel(channel_id)
        if channel is None:
            raise LookupError(f"no channel {channel_id}")
        if size_limit is None:  # max(default, boost tier); the invoker has no Nitro
            size_limit = store.upload_limit(channel_id)
        guild_id = str(store.guild_of(channel_id) or store.guild_id)
        payload: Json = {
            "id": str(store.ids.next()),
            "application_id": str(store.application_id),
            "type": kind,
            "data": data,
            "token": "fake-" + secrets.token_urlsafe(32),
            "version": 1,
            "channel_id": str(channel_id),
            "channel": copy.deepcopy(channel) | {"permissions": str(permissions)},
            "locale": locale,
            "app_permissions": str(store.permissions_of(store.bot_user)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": size_limit,
            "authorizing_integration_owners": {"0": guild_id} if guild else {},
            "context": 0 if guild else 1,
        }
        if guild:
            payload["guild_id"] = guild_id  # the gateway sends it to this guild's shard
            payload["guild"] = {"id": guild_id, "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            member = store.member_payload(user) | {"permissions": str(permissions)}
            payload["member"] = member
        else:
            payload["user"] = user.payload()
        if message is not None:
            payload["message"] = message
        record = InteractionRecord(payload, user, channel_id, size_limit)
        if message is not None:
            record.message_id = int(message["id"])
        self.by_id[record.id] = self.by_token[record.token] = record
        record.dispatched_at = asyncio.get_running_loop().time()
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return payload

    # --- callback ---------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        record = self.by_id.get(int(request.match_info["interaction_id"]))
        if record is None or record.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if record.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() - record.dispatched_at > self.ack_deadline:
            raise ApiError(404, 10062, "Unknown interaction")
        body: Json = request[BODY] or {}
        uploads: dict[int, Upload] = request[UPLOADS]
        kind, data = int(body.get("type", 0)), body.get("data") or {}
        message, event = self._respond(record, kind, data, uploads)  # no await before: atomic
        files = [u.filename for u in uploads.values()]
        self.callbacks.append(
            {"interaction_id": record.id, "token": record.token, "type": kind}
            | {"data": data, "files": files}
        )
        if message is not None and event is not None:
            await self.gateway.publish_message(event, message)
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        flags = message["flags"] if message else 0
        interaction: Json = {"id": str(record.id), "type": record.type}
        interaction["response_message_loading"] = kind == DEFERRED_CHANNEL_MESSAGE
        interaction["response_message_ephemeral"] = bool(flags & FLAG_EPHEMERAL)
        result: Json = {"interaction": interaction}
        if message is not None:
            interaction["response_message_id"] = message["id"]
            result["resource"] = {"type": kind, "message": message}
        elif kind in (AUTOCOMPLETE_RESULT, MODAL):
            result["resource"] = {"type": kind}
        return json_response(result)

    def _respond(
        self, record: InteractionRecord, kind: int, data: Json, uploads: dict[int, Upload]
    ) -> tuple[Json | None, str | None]:
        store = self.store
        if kind == CHANNEL_MESSAGE:
            validate_message(data, uploads, size_limit=record.size_limit)
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            if record.message_id is None:
                error = {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": "?"}]}
                raise ApiError(400, 50035, "Invalid Form Body", {"type": error})
            if kind == UPDATE_MESSAGE:
                validate_message(data, uploads, size_limit=record.size_limit, creating=False)
        elif kind not in (DEFERRED_CHANNEL_MESSAGE, AUTOCOMPLETE_RESULT, MODAL):
            error = {"_errors": [{"code": "BASE_TYPE_CHOICES", "message": f"{kind}?"}]}
            raise ApiError(400, 50035, "Invalid Form Body", {"type": error})
        record.response_type = kind
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            loading = kind == DEFERRED_CHANNEL_MESSAGE
            body = {"flags": data.get("flags")} if loading else data
            flags = (int(data.get("flags") or 0) & FLAG_EPHEMERAL) | (
                FLAG_LOADING if loading else 0
            )
            message = self._new_message(record, body, uploads if not loading else {}, flags)
            record.original_id = int(message["id"])
            return message, "MESSAGE_CREATE"
        if kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and record.message_id is not None:
            record.original_id = record.message_id
            record.message_ids.add(record.message_id)
            message = store.messages[record.message_id]
            if kind == UPDATE_MESSAGE:
                store.edit_message(message, data, uploads)
                return message, "MESSAGE_UPDATE"
            return message, None
        return None, None

    def _new_message(
        self, record: InteractionRecord, body: Json, uploads: dict[int, Upload], flags: int
    ) -> Json:
        metadata: Json = {
            "id": str(record.id),
            "type": record.type,
            "user": record.user.payload(),
            "authorizing_integration_owners": record.payload["authorizing_integration_owners"],
        }
        if record.original_id is not None:
            metadata["original_response_message_id"] = str(record.original_id)
        if record.message_id is not None:
            metadata["interacted_message_id"] = str(record.message_id)
        app = str(self.store.application_id)
        extra: Json = {"webhook_id": app, "application_id": app, "flags": flags}
        extra["interaction_metadata"] = metadata
        if record.type == APPLICATION_COMMAND:
            metadata |= {"name": record.payload["data"]["name"], "command_type": 1}
            extra["interaction"] = {"id": str(record.id), "type": record.type}
            extra["interaction"] |= {"name": metadata["name"], "user": record.user.payload()}
        first = record.original_id is None and record.type == APPLICATION_COMMAND
        kind = MESSAGE_CHAT_INPUT if first else MESSAGE_DEFAULT
        message = self.store.create_message(
            record.channel_id, self.store.bot_user, body, uploads, kind=kind, extra=extra
        )
        record.message_ids.add(int(message["id"]))
        return message

    # --- interaction webhook ----------------------------------------------------------------

    def _record(self, request: web.Request) -> InteractionRecord:
        if int(request.match_info["app_id"]) != self.store.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        record = self.by_token.get(request.match_info["token"])
        if record is None or record.expired:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return record

    def _webhook_message(self, request: web.Request) -> tuple[InteractionRecord, Json]:
        record = self._record(request)
        key = request.match_info["message_id"]
        message_id = (
            record.original_id if key == "@original" else int(key) if key.isdigit() else None
        )
        if message_id is None or message_id not in record.message_ids:
            raise ApiError(404, 10008, "Unknown Message")
        message = self.store.messages.get(message_id)
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return record, message

    async def followup(self, request: web.Request) -> web.Response:
        record = self._record(request)
        if record.response_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        body: Json = request[BODY] or {}
        uploads: dict[int, Upload] = request[UPLOADS]
        validate_message(body, uploads, size_limit=record.size_limit)
        original = self.store.messages.get(record.original_id or 0)
        if original is not None and original["flags"] & FLAG_LOADING:
            # The first follow-up after a "thinking" defer fills the loading message.
            message = self.store.edit_message(original, body, uploads)
            event = "MESSAGE_UPDATE"
        else:
            flags = int(body.get("flags") or 0) & FLAG_EPHEMERAL
            message = self._new_message(record, body, uploads, flags)
            event = "MESSAGE_CREATE"
        await self.gateway.publish_message(event, message)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(message)
        return web.Response(status=204)

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self._webhook_message(request)[1])

    async def edit_message(self, request: web.Request) -> web.Response:
        record, message = self._webhook_message(request)
        body: Json = request[BODY] or {}
        uploads: dict[int, Upload] = request[UPLOADS]
        validate_message(body, uploads, size_limit=record.size_limit, creating=False)
        self.store.edit_message(message, body, uploads)
        await self.gateway.publish_message("MESSAGE_UPDATE", message)
        return json_response(message)

    async def delete_message(self, request: web.Request) -> web.Response:
        _, message = self._webhook_message(request)
        del self.store.messages[int(message["id"])]
        if self.gateway.session_id is not None and not message["flags"] & FLAG_EPHEMERAL:
            keys = ("id", "channel_id", "guild_id")
            await self.gateway.dispatch(
                "MESSAGE_DELETE", {k: message[k] for k in keys if k in message}
            )
        return web.Response(status=204)
