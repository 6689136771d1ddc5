"""Images in a form Slack shows: PNG, JPEG or GIF.

Slack renders only ``png``, ``jpg``, ``jpeg`` and ``gif`` inline, and Block Kit
image blocks, image elements and ``slack_file`` objects accept nothing else
(docs.slack.dev/reference/block-kit/blocks/image-block, …/composition-objects/
slack-file-object); a WebP — which some models and relays return — would be a
bare file to download. ``for_slack`` keeps those three as they are and turns
anything else into a PNG (lossless; transparency kept). The bytes decide, not
the MIME type a provider claimed. Pure and CPU-bound: call it through
``asyncio.to_thread``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from adapters.imaging import open_upright

# magic bytes -> (MIME type, file extension)
_SHOWN = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


@dataclass(frozen=True)
class SlackImage:
    data: bytes
    mime_type: str
    extension: str  # without the dot: "png", "jpg", "gif"
    converted: bool  # True if re-encoded as PNG


def shown_type(data: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) if Slack shows ``data`` as an image as it is, else None."""
    for magic, mime, extension in _SHOWN:
        if data.startswith(magic):
            return mime, extension
    return None


def for_slack(data: bytes) -> SlackImage:
    """``data`` as it is if it is a PNG, JPEG or GIF; else the same image as a PNG
    (the first frame of an animation, turned upright by its EXIF orientation).

    Raises ValueError if ``data`` is neither of those nor an image Pillow can read."""
    known = shown_type(data)
    if known is not None:
        return SlackImage(data, known[0], known[1], converted=False)
    image = open_upright(data)
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return SlackImage(out.getvalue(), "image/png", "png", converted=True)
