"""Turn raw user input into a ``GenerationRequest`` or an ``InputError``.

Runs before anything is reserved or sent, so bad input is never charged. Control
characters (ESC, BEL, DEL, NUL …) are taken out of the prompt here, once: neither the
model nor a channel ever sees them; newlines and tabs stay. Whether a reference is a
whole image within the limits is decided by decoding it (``check_references``, with the
``ImageInspector`` port), still before anything is reserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.catalog import parse_aspect
from bot.domain import SIZES, GenerationRequest, ImageInput, ImageProblem
from bot.errors import InputError
from bot.ports import ImageInspector
from bot.text import clean_text, one_line

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


def clean_name(name: str) -> str:
    """A file name fit to quote back in a refusal."""
    return one_line(name) or "(unnamed)"


def build_request(
    prompt: str,
    *,
    aspect: str | None = None,
    size: str | None = None,
    references: Sequence[tuple[str, bytes]] = (),
    max_prompt_chars: int = MAX_PROMPT_CHARS,
    max_reference_bytes: int = MAX_REFERENCE_BYTES,
) -> GenerationRequest:
    text = clean_text(prompt or "").strip()
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
            detail = f"{clean_name(name)} (the limit is {limit_mb:g} MB)"
            raise InputError("reference_too_large", detail)
        mime = sniff_image(data)
        if mime is None:
            raise InputError("bad_reference", clean_name(name))
        images.append(ImageInput(data=data, mime_type=mime))
    return GenerationRequest(
        prompt=text,
        aspect_ratio=aspect_ratio,
        size=size.upper() if size else None,
        references=tuple(images),
    )


async def check_references(
    request: GenerationRequest, names: Sequence[str], images: ImageInspector
) -> GenerationRequest:
    """``request`` once each reference decodes whole within ``images.limits`` (its type
    as decoded); InputError naming the first that does not — before anything is reserved."""
    limits, checked = images.limits, []
    for n, ref in enumerate(request.references):
        name = clean_name(names[n] if n < len(names) else f"reference-{n + 1}")
        found = await images.inspect(ref.data)
        if found.problem is ImageProblem.TOO_LARGE:
            limit_mb = limits.max_bytes / 1024 / 1024
            raise InputError("reference_too_large", f"{name} (the limit is {limit_mb:g} MB)")
        if found.problem is ImageProblem.TOO_MANY_PIXELS:
            size = f"{found.width}×{found.height} pixels; " if found.width else ""
            limit_mp = limits.max_pixels / 1_000_000
            detail = f"{name} ({size}the limit is {limit_mp:g} megapixels)"
            raise InputError("reference_too_many_pixels", detail)
        if found.problem is not None:
            raise InputError("reference_unreadable", name)
        checked.append(ImageInput(data=ref.data, mime_type=found.mime_type or ref.mime_type))
    return replace(request, references=tuple(checked))
