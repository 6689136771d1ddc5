"""The Slack fake's files: a file a user attached (``add_file``), and the two-step
external upload the bot's ``files_upload_v2`` makes — ``files.getUploadURLExternal``,
the raw upload to the URL it gives, then ``files.completeUploadExternal``, which
shares the file in a channel or thread as a message. ``SlackState`` inherits these."""

from __future__ import annotations

import mimetypes
from typing import Any

from tests.platforms.slack_fake_wire import StoredFile, Workspace, json_arg

Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: Json = {"ok": False, "error": error, **extra}


class FileUploads:
    ws: Workspace
    base_url: str
    files: dict[str, StoredFile]

    def _next_id(self, prefix: str) -> str:
        raise NotImplementedError

    def store_message(self, channel: str, **fields: Any) -> Json:
        raise NotImplementedError

    def add_file(self, data: bytes, mime: str, name: str, *, user: str = "U0FAKEUSER1") -> Json:
        """A file a user uploaded; its ``url_private`` needs the bot token to download."""
        f = StoredFile(self._next_id("F"), name, name, mime, len(data), data, user=user)
        self.files[f.id] = f
        return f.wire(self.ws, self.base_url)

    def _get_upload_url(self, args: Json) -> Json:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit():
            raise ApiError("invalid_arguments")
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        f = StoredFile(self._next_id("F"), filename, filename, mime, int(length))
        f.user = self.ws.bot_user_id
        self.files[f.id] = f
        return {"ok": True, "upload_url": f"{self.base_url}upload/v1/{f.id}", "file_id": f.id}

    def _complete_upload(self, args: Json) -> Json:
        try:
            items = json_arg(args.get("files") or "[]")
        except ValueError:
            raise ApiError("invalid_arguments") from None
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        channel = str(args.get("channel_id") or args.get("channels") or "").split(",")[0]
        thread_ts = args.get("thread_ts") or None
        if thread_ts and not channel:
            raise ApiError("invalid_arguments")
        stored: list[StoredFile] = []
        for item in items:
            f = self.files.get(str(item.get("id")))
            if f is None or f.data is None:
                raise ApiError("file_not_found")
            f.title = str(item.get("title") or f.name)
            stored.append(f)
        comment = args.get("initial_comment") or None
        if channel:
            for f in stored:
                f.channel, f.thread_ts, f.initial_comment = channel, thread_ts, comment
                f.shares.append(channel)
            wire = [f.wire(self.ws, self.base_url) for f in stored]
            msg = self.store_message(channel, text=comment or "", thread_ts=thread_ts, files=wire)
            for f in stored:
                f.message_ts = msg["ts"]
        return {"ok": True, "files": [f.wire(self.ws, self.base_url) for f in stored]}
