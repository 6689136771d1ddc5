"""Bot-token REST routes of the fake Discord: identity, application commands, channels,
messages, threads, and the CDN that serves stored attachments."""

from __future__ import annotations

import mimetypes

from aiohttp import web

from tests.platforms.discord_fake_gateway import FakeGateway
from tests.platforms.discord_fake_store import FakeStore
from tests.platforms.discord_fake_types import (
    ATTACH_FILES,
    CHANNEL_TEXT,
    CREATE_PUBLIC_THREADS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    THREAD_TYPES,
    VIEW_CHANNEL,
    FormError,
    Json,
)
from tests.platforms.discord_fake_wire import (
    API_PREFIX,
    BODY,
    UPLOADS,
    ApiError,
    json_response,
    validate_message,
)

UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")


def _as_str(value: object) -> str | None:
    return None if value is None else str(value)


class RestApi:
    def __init__(self, store: FakeStore, gateway: FakeGateway) -> None:
        self.store = store
        self.gateway = gateway
        self.recommended_shards = 1  # GET /gateway/bot's "shards"

    def routes(self) -> list[web.RouteDef]:
        api, cmds = API_PREFIX, API_PREFIX + "/applications/{app_id}"
        msg = api + "/channels/{channel_id}/messages/{message_id}"
        return [
            web.get(api + "/users/@me", self.me),
            web.get(api + "/users/{user_id}", self.get_user),
            web.post(api + "/users/@me/channels", self.open_dm),
            web.get(api + "/oauth2/applications/@me", self.application),
            web.get(api + "/gateway", self.get_gateway),
            web.get(api + "/gateway/bot", self.get_gateway),
            web.put(cmds + "/commands", self.put_commands),
            web.get(cmds + "/commands", self.get_commands),
            web.put(cmds + "/guilds/{guild_id}/commands", self.put_commands),
            web.get(cmds + "/guilds/{guild_id}/commands", self.get_commands),
            web.get(api + "/channels/{channel_id}", self.get_channel),
            web.get(api + "/channels/{channel_id}/messages", self.history),
            web.post(api + "/channels/{channel_id}/messages", self.send),
            web.post(api + "/channels/{channel_id}/typing", self.no_content),
            web.post(api + "/channels/{channel_id}/threads", self.start_thread),
            web.get(msg, self.get_message),
            web.patch(msg, self.edit),
            web.delete(msg, self.delete),
            web.post(msg + "/threads", self.start_thread),
            web.put(msg + "/reactions/{emoji}/@me", self.no_content),
            web.get("/attachments/{scope}/{attachment_id}/{filename}", self.cdn),
        ]

    # --- identity and gateway ---------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        extra = {"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}
        return json_response(self.store.bot_user.payload() | extra)

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.store.user(int(request.match_info["user_id"]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def open_dm(self, request: web.Request) -> web.Response:
        user = self.store.user(int(request[BODY]["recipient_id"]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(self.store.dm_channel(user))

    async def application(self, request: web.Request) -> web.Response:
        store = self.store
        return json_response(
            {
                "id": str(store.application_id),
                "name": store.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": store.users["owner"].payload(),
                "team": None,
                "flags": store.application_flags(),
                "bot": store.bot_user.payload(),
                "interactions_endpoint_url": None,  # else discord.py warns: no gateway interactions
                "redirect_uris": [],
                "tags": [],
                "integration_types_config": {"0": {}},
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        body: Json = {"url": self.gateway.url}
        if request.path.endswith("/bot"):  # "shards": the recommended number of shards
            body |= {"shards": self.recommended_shards, "session_start_limit": limit}
        return json_response(body)

    # --- application commands ---------------------------------------------------------------

    def _command_list(self, request: web.Request) -> list[Json]:
        if int(request.match_info["app_id"]) != self.store.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return self.store.global_commands
        guild_id = int(request.match_info["guild_id"])
        if guild_id not in self.store.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return self.store.guild_commands.setdefault(guild_id, [])

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: ids survive for the same (name, type), like Discord's."""
        current = self._command_list(request)
        old = {(c["name"], c["type"]): c for c in current}
        new: list[Json] = []
        for index, spec in enumerate(request[BODY]):
            kind = int(spec.get("type", 1))
            if kind == 1 and not 1 <= len(spec.get("description", "")) <= 100:
                error = {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "1-100"}]}
                raise FormError({str(index): {"description": error}})
            previous = old.get((spec["name"], kind))
            command = dict(spec) | {
                "id": previous["id"] if previous else str(self.store.ids.next()),
                "application_id": str(self.store.application_id),
                "version": str(self.store.ids.next()),
                "type": kind,
                "description": spec.get("description", ""),
                "default_member_permissions": _as_str(spec.get("default_member_permissions")),
                "nsfw": bool(spec.get("nsfw", False)),
            }
            if "guild_id" in request.match_info:
                command["guild_id"] = request.match_info["guild_id"]
            new.append(command)
        current[:] = new
        return json_response(new)

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self._command_list(request))

    # --- channels and messages --------------------------------------------------------------

    def _channel(self, request: web.Request) -> tuple[int, Json]:
        channel_id = int(request.match_info["channel_id"])
        channel = self.store.channel(channel_id)
        if channel is None:
            raise ApiError(*UNKNOWN_CHANNEL)
        return channel_id, channel

    def _message(self, request: web.Request) -> tuple[int, Json]:
        channel_id, _ = self._channel(request)
        message = self.store.messages.get(int(request.match_info["message_id"]))
        if message is None or message["channel_id"] != str(channel_id):
            raise ApiError(*UNKNOWN_MESSAGE)
        return channel_id, message

    def _require(self, channel: Json, permissions: int) -> None:
        if "guild_id" not in channel:
            return
        if self.store.permissions_of(self.store.bot_user) & permissions != permissions:
            raise ApiError(403, 50013, "Missing Permissions")

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._channel(request)[1])

    async def history(self, request: web.Request) -> web.Response:
        channel_id, _ = self._channel(request)
        messages = self.store.messages_in(channel_id)
        if "before" in request.query:
            messages = [m for m in messages if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            messages = [m for m in messages if int(m["id"]) > int(request.query["after"])]
        limit = int(request.query.get("limit", 50))
        newest_first = list(reversed(messages))[:limit]
        return json_response(
            [self.store.as_seen_by_bot(m, self.gateway.intents) for m in newest_first]
        )

    async def send(self, request: web.Request) -> web.Response:
        channel_id, channel = self._channel(request)
        body: Json = request[BODY] or {}
        uploads = request[UPLOADS]
        in_thread = channel["type"] in THREAD_TYPES
        self._require(
            channel, VIEW_CHANNEL | (SEND_MESSAGES_IN_THREADS if in_thread else SEND_MESSAGES)
        )
        if uploads:
            self._require(channel, ATTACH_FILES)
        validate_message(body, uploads, size_limit=self.store.upload_limit(channel_id))
        reference = body.get("message_reference") or {}
        if reference.get("message_id") and int(reference["message_id"]) not in self.store.messages:
            error = {"_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "?"}]}
            raise FormError({"message_reference": error})
        message = self.store.create_message(channel_id, self.store.bot_user, body, uploads)
        await self.gateway.publish_message("MESSAGE_CREATE", message)
        return json_response(message)

    async def get_message(self, request: web.Request) -> web.Response:
        message = self._message(request)[1]
        return json_response(self.store.as_seen_by_bot(message, self.gateway.intents))

    async def edit(self, request: web.Request) -> web.Response:
        channel_id, message = self._message(request)
        if message["author"]["id"] != str(self.store.application_id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body: Json = request[BODY] or {}
        limit = self.store.upload_limit(channel_id)
        validate_message(body, request[UPLOADS], size_limit=limit, creating=False)
        self.store.edit_message(message, body, request[UPLOADS])
        await self.gateway.publish_message("MESSAGE_UPDATE", message)
        return json_response(message)

    async def delete(self, request: web.Request) -> web.Response:
        channel_id, message = self._message(request)
        del self.store.messages[int(message["id"])]
        event: Json = {"id": message["id"], "channel_id": str(channel_id)}
        if "guild_id" in message:
            event["guild_id"] = message["guild_id"]
        if self.gateway.session_id is not None:
            await self.gateway.dispatch("MESSAGE_DELETE", event)
        return web.Response(status=204)

    async def no_content(self, request: web.Request) -> web.Response:
        self._channel(request)
        return web.Response(status=204)

    async def start_thread(self, request: web.Request) -> web.Response:
        """From a message (the thread takes the message's id) or standalone."""
        channel_id, channel = self._channel(request)
        body: Json = request[BODY] or {}
        if channel["type"] != CHANNEL_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._require(channel, VIEW_CHANNEL | CREATE_PUBLIC_THREADS)
        if not 1 <= len(str(body.get("name") or "")) <= 100:
            error = {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "1-100"}]}
            raise FormError({"name": error})
        message: Json | None = None
        if "message_id" in request.match_info:
            message = self._message(request)[1]
            if "thread" in message:
                raise ApiError(400, 160004, "A thread has already been created for this message")
        thread_id = int(message["id"]) if message else self.store.ids.next()
        kind = {"type": 11} if message else {}
        thread = self.store.create_thread(
            channel_id,
            name=body["name"],
            owner=self.store.bot_user,
            thread_id=thread_id,
            body=body | kind,
        )
        if message is not None:
            message["thread"] = thread
        if self.gateway.session_id is not None:
            await self.gateway.dispatch("THREAD_CREATE", thread | {"newly_created": True})
        return json_response(thread, 201)

    async def cdn(self, request: web.Request) -> web.Response:
        data = self.store.blobs.get(int(request.match_info["attachment_id"]))
        if data is None:
            return web.Response(status=404, text="Not Found")
        kind = mimetypes.guess_type(request.match_info["filename"])[0]
        return web.Response(body=data, content_type=kind or "application/octet-stream")
