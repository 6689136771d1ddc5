"""A Gemini history as stored: image bytes moved out to content-addressed blobs
and put back byte-for-byte, its size as sent, and trimming to a byte budget.

An ``inline_data.data`` (or ``inlineData.data``) string in the SDK's JSON form
(URL-safe, padded base64) becomes ``{"$blob": sha256, "size": n}``; a string in
any other form stays inline, so restoring never alters anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.domain import JSON

IMAGE_KEYS = ("inline_data", "inlineData")
REF = "$blob"

Turn = dict[str, Any]
Blobs = dict[str, tuple[bytes, str]]  # sha256 -> (bytes, mime type)


def trim(history: list[Turn], budget: int) -> tuple[list[Turn], bool]:
    """Drop the oldest exchanges (a user turn and what follows it) until the rest
    fits ``budget``; the newest exchange always stays."""
    groups: list[list[Turn]] = []
    for turn in history:
        if not groups or (turn.get("role") == "user" and groups[-1][-1].get("role") != "user"):
            groups.append([turn])
        else:
            groups[-1].append(turn)
    sizes = [sum(wire_size(turn) for turn in group) for group in groups]
    total, drop = sum(sizes), 0
    while total > budget and drop < len(groups) - 1:
        total, drop = total - sizes[drop], drop + 1
    return [turn for group in groups[drop:] for turn in group], drop > 0


def wire_size(turn: Turn) -> int:
    """Bytes of the turn as compact JSON with its images inline (stored form accepted)."""
    size = len(dumps(turn))
    for blob in image_parts(turn):
        ref = blob["data"]
        if isinstance(ref, dict) and REF in ref:
            size += 4 * -(-ref["size"] // 3) + 2 - len(dumps(ref))
    return size


def externalize(turns: Sequence[JSON]) -> tuple[list[Turn], Blobs]:
    """Copies of ``turns`` with SDK-form image strings replaced by blob references."""
    copies: list[Turn] = json.loads(json.dumps(list(turns)))
    found: Blobs = {}
    for turn in copies:
        for blob in image_parts(turn):
            raw = decode(blob.get("data"))
            if raw is not None:
                sha = sha256(raw)
                found.setdefault(sha, (raw, mime_of(blob)))
                blob["data"] = {REF: sha, "size": len(raw)}
    return copies, found


def restore(turn: Turn, data: Mapping[str, bytes]) -> Turn:
    for blob in image_parts(turn):
        ref = blob["data"]
        if isinstance(ref, dict) and REF in ref:
            blob["data"] = b64(data[ref[REF]])
    return turn


def refs(turn: Turn) -> set[str]:
    return {b["data"][REF] for b in image_parts(turn) if isinstance(b.get("data"), dict)}


def image_parts(turn: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for part in turn.get("parts") or ():
        yield from blobs_in(part)


def blobs_in(part: Any) -> Iterator[dict[str, Any]]:
    for name in IMAGE_KEYS:
        blob = part.get(name) if isinstance(part, dict) else None
        if isinstance(blob, dict) and "data" in blob:
            yield blob


def decode(text: Any) -> bytes | None:
    """The bytes of an SDK-form base64 string; None for anything that would not
    encode back to the very same string."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(text)
    except (binascii.Error, ValueError):
        return None
    return raw if b64(raw) == text else None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")  # what the SDK's JSON dump holds


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mime_of(blob: Mapping[str, Any]) -> str:
    return str(blob.get("mime_type") or blob.get("mimeType") or "application/octet-stream")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
