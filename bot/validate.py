"""Turn raw user input into a ``GenerationRequest`` or an ``InputError``.

Runs before anything is reserved or sent, so bad input is never charged.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.catalog import parse_aspect
from bot.domain import SIZES, GenerationRequest, ImageInput
from bot.errors import InputError

MAX_PROMPT_CHARS = 4000
MAX_REFERENCE_BYTES = 10 * 1024 * 1024
MAX_REFERENCES = 14

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image(data: bytes) -> str | None:
    """The image MIME type from the file's first bytes (never trust the name)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def build_request(
    prompt: str,
    *,
    aspect: str | None = None,
    size: str | None = None,
    references: Sequence[tuple[str, bytes]] = (),
    max_prompt_chars: int = MAX_PROMPT_CHARS,
    max_reference_bytes: int = MAX_REFERENCE_BYTES,
) -> GenerationRequest:
    text = (prompt or "").strip()
    if not text:
        raise InputError("empty_prompt")
    if len(text) > max_prompt_chars:
        raise InputError(
            "prompt_too_long", f"{len(text)} characters; the limit is {max_prompt_chars}"
        )
    aspect_ratio = None
    if aspect:
        try:
            aspect_ratio = parse_aspect(aspect)
        except ValueError:
            raise InputError("bad_aspect", aspect) from None
    if size is not None and size.upper() not in SIZES:
        raise InputError("bad_size", size)
    if len(references) > MAX_REFERENCES:
        raise InputError("no_capable_model", f"editing with {len(references)} reference images")
    images = []
    for name, data in references:
        if len(data) > max_reference_bytes:
            limit_mb = max_reference_bytes / 1024 / 1024
            raise InputError("reference_too_large", f"{name} (the limit is {limit_mb:g} MB)")
        mime = sniff_image(data)
        if mime is None:
            raise InputError("bad_reference", name)
        images.append(ImageInput(data=data, mime_type=mime))
    return GenerationRequest(
        prompt=text,
        aspect_ratio=aspect_ratio,
        size=size.upper() if size else None,
        references=tuple(images),
    )
