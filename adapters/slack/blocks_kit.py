"""Block Kit primitives kept within Slack's limits; the views are in ``blocks``
and ``blocks_admin``.

Every text object is mrkdwn with ``verbatim: true`` (Slack then links no bare
``@here`` or ``#channel``), and callers pass user text through ``escape``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Block = dict[str, Any]
Message = tuple[str, list[Block]]

MAX_BLOCKS = 50
SECTION_MAX = 3000
FIELD_MAX = 2000
FALLBACK_MAX = 3000  # notifications show far less; Slack's own cap is 40,000
_ID = re.compile(r"[A-Z0-9]+")


def escape(text: str) -> str:
    """Slack's three control characters as entities: user text can't mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in "…" if cut, never mid-entity."""
    if len(text) <= limit:
        return text
    return re.sub(r"&[a-z]*$", "", text[: limit - 1]) + "…"


def code(model: str) -> str:
    """A model id as inline code."""
    return f"`{escape(model.replace('`', ''))}`"


def mention(user: str) -> str:
    """``<@U123>`` for a Slack id; anything else is shown as text, never parsed."""
    return f"<@{user}>" if _ID.fullmatch(user) else escape(user)


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>" if _ID.fullmatch(channel_id) else escape(channel_id)


def fallback(*parts: str) -> str:
    """The message's ``text`` (notifications, screen readers); parts are already escaped."""
    return clip(" ".join(p for p in parts if p), FALLBACK_MAX) or " "


def mrkdwn(text: str, limit: int = SECTION_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit) or " ", "verbatim": True}


def section(text: str, *, fields: Iterable[str] = ()) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if more := [mrkdwn(f, FIELD_MAX) for f in fields][:10]:
        block["fields"] = more
    return block


def context(*parts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(p) for p in parts[:10]]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150)}}


def button(label: str, action_id: str, job_id: str) -> Block:
    if not 0 < len(job_id) <= FIELD_MAX:
        raise ValueError("a button's value (the job id) must be 1 to 2000 characters")
    text = {"type": "plain_text", "text": clip(label, 75), "emoji": True}
    return {"type": "button", "text": text, "action_id": action_id, "value": job_id}


def actions(job_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": f"actions:{job_id}", "elements": list(buttons)}


def pack(lines: Iterable[str], limit: int = SECTION_MAX) -> list[str]:
    """Lines joined into as few texts of at most ``limit`` characters as they fit."""
    chunks: list[str] = []
    for line in (clip(x, limit) for x in lines):
        if chunks and len(chunks[-1]) + 1 + len(line) <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks
