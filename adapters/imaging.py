"""Reading images with Pillow (CPU-bound: run it through ``asyncio.to_thread``).

``PillowInspector`` is the core's ``ImageInspector``: every reference a person sends and
every image a model returns is decoded here once, off the event loop, against our own
limits — the header's width × height is checked *before* the pixels are decoded, so a
small file that claims 30000 × 30000 pixels is refused without allocating them. Pillow's
own bomb guard (``Image.MAX_IMAGE_PIXELS``, process-global) is left as it is: it is a
backstop, not our limit. ``open_upright`` reads an image the chat adapters are about to post.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image, ImageOps

from bot.domain import ImageCheck, ImageLimits, ImageProblem

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
DECODES_AT_ONCE = 2  # decoded pixels are the memory to bound, not threads


def open_upright(data: bytes) -> Image.Image:
    """The decoded image, turned upright by its EXIF orientation (the first frame of
    an animation). Raises ValueError for bytes Pillow cannot read."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError("not an image that can be read") from exc
    return image


def inspect_image(data: bytes, limits: ImageLimits) -> ImageCheck:
    """Decode ``data`` (the first frame) within ``limits``; never raises for bad bytes."""
    if len(data) > limits.max_bytes:
        return ImageCheck(ImageProblem.TOO_LARGE)
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            width, height = image.size  # from the header; nothing decoded yet
            if width * height > limits.max_pixels:
                return ImageCheck(ImageProblem.TOO_MANY_PIXELS, width=width, height=height)
            image.load()  # a truncated or corrupt file fails here
            mime = FORMATS[str(image.format)]
    except Image.DecompressionBombError:  # past Pillow's own backstop (header only read)
        return ImageCheck(ImageProblem.TOO_MANY_PIXELS)
    except Exception:  # Pillow's plugins raise OSError, SyntaxError, ValueError, struct.error …
        return ImageCheck(ImageProblem.UNREADABLE)
    return ImageCheck(None, mime, width, height)


class PillowInspector:
    """``bot.ports.ImageInspector`` with Pillow: at most ``at_once`` decodes at a time,
    each in a worker thread."""

    def __init__(self, limits: ImageLimits | None = None, *, at_once: int = DECODES_AT_ONCE):
        self._limits = limits or ImageLimits()
        self._slots = asyncio.Semaphore(at_once)

    @property
    def limits(self) -> ImageLimits:
        return self._limits

    async def inspect(self, data: bytes) -> ImageCheck:
        if len(data) > self._limits.max_bytes:
            return ImageCheck(ImageProblem.TOO_LARGE)
        async with self._slots:
            return await asyncio.to_thread(inspect_image, data, self._limits)
