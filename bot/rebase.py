"""A thread's next turn on another model: the history that model accepts.

Gemini binds thought signatures to the model, key and channel that made them;
another one answers 400 ("Corrupted thought signature"). So when a thread's
next turn goes elsewhere than the turns before it — a shut-down id's successor,
a failover to another Gemini model or channel, an admin's new chain — the
request is rebased: no earlier turns (so no foreign signatures), the thread's
latest image handed in as a user-supplied image, and a short note of what was
asked before. Same model and channel: the request is left alone, so resuming
stays byte-identical.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bot.domain import GenerationRequest, ImageInput
from bot.history import blobs_in, mime_of

EARLIER_PROMPTS = 4  # how many earlier requests the note recalls
PROMPT_CHARS = 300
NOTE = (
    "This continues an image conversation. Earlier requests, oldest first: {prompts}. "
    "The first attached image is the latest version: change it as asked next."
)


def for_route(request: GenerationRequest, model: str, channel: str) -> GenerationRequest:
    """``request`` as the route (``model`` on ``channel``) may receive it."""
    origin = request.history_origin
    if not request.history or origin is None:
        return request
    made_by, made_on = origin
    if made_by == model and made_on in (None, channel):
        return request
    return rebased(request)


def rebased(request: GenerationRequest) -> GenerationRequest:
    """``request`` without its history: the latest image and a note instead."""
    if not request.history:
        return request
    latest = latest_image(request.history)
    prompts = [p for p in user_prompts(request.history) if p][-EARLIER_PROMPTS:]
    note = NOTE.format(prompts="; ".join(f"“{_short(p)}”" for p in prompts) or "(none)")
    references = ((latest,) if latest else ()) + request.references
    return replace(
        request,
        prompt=f"{note}\n\n{request.prompt}",
        references=references,
        history=(),
        history_origin=None,
    )


def latest_image(history: Sequence[Mapping[str, Any]]) -> ImageInput | None:
    """The last image of the history that is not a thought (a draft)."""
    for turn in reversed(history):
        for part in reversed(turn.get("parts") or ()):
            if not isinstance(part, Mapping) or part.get("thought"):
                continue
            for blob in blobs_in(part):
                data = _decode(blob.get("data"))
                if data:
                    return ImageInput(data, mime_of(blob))
    return None


def user_prompts(history: Sequence[Mapping[str, Any]]) -> list[str]:
    out = []
    for turn in history:
        if turn.get("role") != "user":
            continue
        texts = [
            str(p["text"])
            for p in turn.get("parts") or ()
            if isinstance(p, Mapping) and isinstance(p.get("text"), str) and not p.get("thought")
        ]
        out.append(" ".join(" ".join(texts).split()))
    return out


def _short(text: str) -> str:
    return text if len(text) <= PROMPT_CHARS else text[: PROMPT_CHARS - 1] + "…"


def _decode(text: object) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
