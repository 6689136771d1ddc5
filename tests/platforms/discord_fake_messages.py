"""The fake Discord's messages and stored files (a base of ``FakeStore``): attachments
as Discord stores and lists them, messages created and edited as API v10 does (the
``attachments`` rule, mentions, flags), and a message as the bot's gateway sees it."""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import quote

from tests.platforms.discord_fake_types import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    INTENT_MESSAGE_CONTENT,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
    THREAD_TYPES,
    FakeUser,
    FormError,
    Json,
    Snowflakes,
    Upload,
    image_size,
    iso,
    resolve_embeds,
    snowflake_iso,
)

_MENTION = re.compile(r"<@!?(\d+)>")


class FakeMessages:
    """Needs the store's ids, base URL, users, channels, messages and blobs."""

    ids: Snowflakes
    base_url: str
    application_id: int
    channels: dict[int, Json]
    messages: dict[int, Json]
    blobs: dict[int, bytes]

    def user(self, user_id: int) -> FakeUser | None:
        raise NotImplementedError

    def member_payload(self, user: FakeUser, *, with_user: bool = True) -> Json:
        raise NotImplementedError

    # --- files -----------------------------------------------------------------------------

    def add_attachment(self, upload: Upload, *, scope: int, ephemeral: bool = False) -> Json:
        attachment_id = self.ids.next()
        self.blobs[attachment_id] = upload.data
        guessed = mimetypes.guess_type(upload.filename)[0]
        content_type = upload.content_type
        if content_type in (None, "application/octet-stream"):
            content_type = guessed or content_type
        url = f"{self.base_url}/attachments/{scope}/{attachment_id}/{quote(upload.filename)}"
        attachment: Json = {
            "id": str(attachment_id),
            "filename": upload.filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        size = image_size(upload.data)
        if size is not None:
            attachment["width"], attachment["height"] = size
        if ephemeral:
            attachment["ephemeral"] = True
        return attachment

    def resolve_attachments(
        self, spec: list[Json] | None, uploads: dict[int, Upload], existing: list[Json], scope: int
    ) -> list[Json]:
        """Discord's rule: ``attachments`` lists what stays (existing ids) and names the
        uploads (``id`` = the n of ``files[n]``); without it, uploads are added."""
        if spec is None:
            return existing + [self.add_attachment(u, scope=scope) for u in uploads.values()]
        kept = {a["id"]: a for a in existing}
        result: list[Json] = []
        used: set[int] = set()
        for index, item in enumerate(spec):
            key = str(item.get("id"))
            if key in kept:
                result.append(kept[key])
            elif key.isdigit() and int(key) in uploads:
                upload = uploads[int(key)]
                named = Upload(item.get("filename") or upload.filename, upload.data)
                attachment = self.add_attachment(named, scope=scope)
                if item.get("description"):
                    attachment["description"] = item["description"]
                result.append(attachment)
                used.add(int(key))
            else:
                error = {"code": "ATTACHMENT_NOT_FOUND", "message": "Unknown attachment."}
                raise FormError({"attachments": {str(index): {"_errors": [error]}}})
        extra = [u for n, u in uploads.items() if n not in used]
        return result + [self.add_attachment(u, scope=scope) for u in extra]

    # --- messages -------------------------------------------------------------------------

    def create_message(
        self,
        channel_id: int,
        author: FakeUser,
        body: Json,
        uploads: dict[int, Upload] | None = None,
        *,
        kind: int = MESSAGE_DEFAULT,
        mentions: list[FakeUser] | tuple[FakeUser, ...] = (),
        extra: Json | None = None,
    ) -> Json:
        message_id = self.ids.next()
        attachments = self.resolve_attachments(
            body.get("attachments"), uploads or {}, [], scope=channel_id
        )
        message: Json = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": author.payload(),
            "content": body.get("content") or "",
            "timestamp": snowflake_iso(message_id),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": resolve_embeds(body.get("embeds") or [], attachments),
            "components": body.get("components") or [],
            "pinned": False,
            "type": kind,
            "flags": int(body.get("flags") or 0) & (FLAG_EPHEMERAL | FLAG_SUPPRESS_EMBEDS),
        }
        channel = self.channels[channel_id]
        if "guild_id" in channel:
            message["guild_id"] = channel["guild_id"]
            message["member"] = self.member_payload(author, with_user=False)
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            referenced = self.messages.get(int(reference["message_id"]))
            message["type"] = MESSAGE_REPLY
            message["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(channel_id),
            } | ({"guild_id": channel["guild_id"]} if "guild_id" in channel else {})
            message["referenced_message"] = referenced and {  # one level deep, like Discord
                k: v for k, v in referenced.items() if k != "referenced_message"
            }
            if referenced is not None and (replied := self.user(int(referenced["author"]["id"]))):
                mentions = [*mentions, replied]
        message.update(extra or {})
        self._set_mentions(message, mentions)
        self.messages[message_id] = message
        channel["last_message_id"] = str(message_id)
        if channel["type"] in THREAD_TYPES:
            channel["message_count"] += 1
            channel["total_message_sent"] += 1
        return message

    def edit_message(self, message: Json, body: Json, uploads: dict[int, Upload]) -> Json:
        loading = bool(message["flags"] & FLAG_LOADING)
        if "content" in body:
            message["content"] = body["content"] or ""
        if "components" in body:
            message["components"] = body["components"] or []
        if "attachments" in body or uploads:
            message["attachments"] = self.resolve_attachments(
                body.get("attachments"), uploads, message["attachments"], int(message["channel_id"])
            )
        if "embeds" in body:
            message["embeds"] = resolve_embeds(body["embeds"] or [], message["attachments"])
        if body.get("flags") is not None:
            suppress = int(body["flags"]) & FLAG_SUPPRESS_EMBEDS
            message["flags"] = (message["flags"] & ~FLAG_SUPPRESS_EMBEDS) | suppress
        message["flags"] &= ~FLAG_LOADING
        if not loading:  # the deferred "is thinking…" message is replaced, not edited
            message["edited_timestamp"] = iso()
        self._set_mentions(message, ())
        return message

    def _set_mentions(self, message: Json, extra: list[FakeUser] | tuple[FakeUser, ...]) -> None:
        found = [self.user(int(m)) for m in _MENTION.findall(message["content"])]
        users: dict[int, FakeUser] = {u.id: u for u in [*extra, *found] if u is not None}
        in_guild = "guild_id" in message
        message["mentions"] = [
            u.payload() | ({"member": self.member_payload(u, with_user=False)} if in_guild else {})
            for u in users.values()
        ]

    def messages_in(self, channel_id: int) -> list[Json]:
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    def as_seen_by_bot(self, message: Json, intents: int) -> Json:
        """Without the MESSAGE_CONTENT intent Discord empties content, embeds, attachments
        and components, except in DMs, in the bot's own messages and when it is mentioned."""
        bot_id = str(self.application_id)
        if (
            intents & INTENT_MESSAGE_CONTENT
            or "guild_id" not in message
            or message["author"]["id"] == bot_id
            or any(m["id"] == bot_id for m in message["mentions"])
        ):
            return message
        return message | {"content": "", "embeds": [], "attachments": [], "components": []}
