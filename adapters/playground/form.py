"""What the page posts to ``/play/say``, read within the chat platforms' limits.

A ``multipart/form-data`` body (or JSON, without files): ``channel``, ``text``,
and optionally ``thread``, ``aspect``, ``size``, ``key`` (the page's id for this
message: sent twice, it makes one job) and ``file`` parts. Files are read as
they stream in and refused past ``MAX_REFERENCE_BYTES`` each or
``MAX_REFERENCES`` in all — before anything is queued or charged; their
content is checked by ``bot.validate`` like any platform's attachments.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from bot.errors import InputError
from bot.intake import Fetch, References
from bot.validate import MAX_PROMPT_CHARS, MAX_REFERENCE_BYTES, MAX_REFERENCES

FIELD_MAX = MAX_PROMPT_CHARS * 4 + 1024  # a text field, in bytes (UTF-8, with room)
_KEY = re.compile(r"[\w-]{8,64}")


@dataclass(frozen=True, slots=True)
class Said:
    channel: str
    text: str
    key: str
    thread: str | None = None
    aspect: str | None = None
    size: str | None = None
    references: References = ()

    @property
    def file_names(self) -> list[str]:
        return [name for name, _ in self.references]

    @property
    def fetch(self) -> Fetch | None:
        if not self.references:
            return None
        refs = self.references

        async def fetch() -> References:
            return refs

        return fetch


async def read_say(request: web.Request) -> Said:
    fields: dict[str, str] = {}
    refs: list[tuple[str, bytes]] = []
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.filename:
                if len(refs) >= MAX_REFERENCES:
                    raise InputError(
                        "no_capable_model", f"editing with over {MAX_REFERENCES} images"
                    )
                refs.append((part.filename[:100], await _read(part, MAX_REFERENCE_BYTES)))
            elif part.name:
                raw = await _read(part, FIELD_MAX, name=part.name)
                fields[part.name] = raw.decode("utf-8", "replace")
    else:
        try:
            data = await request.json()
        except ValueError:
            raise InputError("unreadable", "not JSON") from None
        if isinstance(data, dict):
            fields = {k: v for k, v in data.items() if isinstance(v, str)}
    key = fields.get("key", "")
    return Said(
        channel=fields.get("channel", ""),
        text=fields.get("text", "").strip(),
        key=event_key(key),
        thread=fields.get("thread") or None,
        aspect=fields.get("aspect") or None,
        size=fields.get("size") or None,
        references=tuple(refs),
    )


async def _read(part: BodyPartReader, limit: int, *, name: str | None = None) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            if name is None:
                raise InputError("reference_too_large", part.filename or "file")
            raise InputError("unreadable", f"{name} is too long")
    return bytes(data)


def event_key(value: object) -> str:
    """The page's id for one message or press (sent again, it makes no second job); a
    fresh one if the page sent none or a malformed one."""
    mine = value if isinstance(value, str) and _KEY.fullmatch(value) else uuid.uuid4().hex
    return f"play:{mine}"
