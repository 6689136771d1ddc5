"""Reading an image the chat adapters are about to post (Pillow, CPU-bound: call
the users of this through ``asyncio.to_thread``)."""

from __future__ import annotations

import io

from PIL import Image, ImageOps


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
