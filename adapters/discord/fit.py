"""Make an image small enough for Discord's upload limit.

Discord refuses a file above the upload limit it states: an interaction's
``attachment_size_limit`` (discord.py: ``Interaction.filesize_limit``, the largest
of Discord's default, the server's boost tier and the invoker's Nitro) or, for
the bot's own uploads, the server's ``Guild.filesize_limit``. The caller passes
that number in; none is assumed here, since Discord has changed its default
before (25 MiB to 10 MiB in 2025). A 4K PNG is often larger than the default.
``fit_upload`` leaves an image that fits alone; otherwise it re-encodes it as
JPEG, first at full size (quality 92 down to 70), then smaller by steps of 0.85
until it fits, and says so in ``Fitted.note``. Pure and CPU-bound: call it
through ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

from adapters.imaging import open_upright

QUALITIES = (92, 85, 78, 70)
SCALE_STEP = 0.85
MIB = 1 << 20
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
}


@dataclass(frozen=True)
class Fitted:
    data: bytes
    mime_type: str
    filename_ext: str  # without the dot: "png", "jpg"
    note: str | None  # what the user should be told when the image was changed


def megabytes(size: int) -> str:
    """``14.2 MB``, ``10 MB``, ``512 KB`` (binary units, as Discord states its limits)."""
    if size < MIB:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / MIB:.1f}".removesuffix(".0") + " MB"


def fit_upload(data: bytes, mime_type: str, limit: int) -> Fitted:
    """``data`` if it is at most ``limit`` bytes, else a JPEG that is.

    Raises ValueError if ``data`` is not an image Pillow can read (or, for an
    absurd ``limit`` of a few hundred bytes, if not even 1×1 pixel fits)."""
    if len(data) <= limit:
        return Fitted(data, mime_type, _EXTENSIONS.get(mime_type.lower(), "png"), None)
    image = _open_rgb(data)
    encoded = b""
    for quality in QUALITIES:
        encoded = _jpeg(image, quality)
        if len(encoded) <= limit:
            return _fitted(encoded, image.size, len(data), limit)
    # Too big at the lowest quality. JPEG size goes roughly with the pixel count,
    # so skip to one step before the one that predicts, then step down until it fits.
    predicted = math.ceil(math.log(limit / len(encoded)) / (2 * math.log(SCALE_STEP)))
    steps = max(1, predicted - 1)
    while True:
        scale = SCALE_STEP**steps
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        encoded = _jpeg(image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0), 70)
        if len(encoded) <= limit:
            return _fitted(encoded, size, len(data), limit)
        if size == (1, 1):
            raise ValueError(f"not even a 1×1 JPEG fits in {limit} bytes")
        steps += 1


def _open_rgb(data: bytes) -> Image.Image:
    """The image upright, as RGB; transparency goes on white."""
    image = open_upright(data)
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _fitted(encoded: bytes, size: tuple[int, int], original: int, limit: int) -> Fitted:
    note = (
        f"The full image ({megabytes(original)}) is over Discord's {megabytes(limit)} upload"
        f" limit, so this is a {size[0]}×{size[1]} JPEG."
    )
    return Fitted(encoded, "image/jpeg", "jpg", note)
