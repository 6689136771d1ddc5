"""Cheap, recognisable fake images: the prompt, the model id and a counter drawn on a tile."""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import struct
import textwrap
import zlib
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

SIZE_FACTORS = {"512": 0.5, "1K": 1.0, "2K": 2.0, "4K": 4.0}
FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}
_THREAD_PIXELS = 512 * 512  # render bigger images off the event loop

# GPT Image 2.x free sizes (openai-python ``images.generate`` docstring): sides
# divisible by 16, ratio at most 3:1, longest edge 3840, 655,360-8,294,400 pixels.
CLASSIC_SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536"})
PIXEL_STEP, MAX_PIXEL_RATIO, MAX_EDGE = 16, 3.0, 3840
MIN_PIXELS, MAX_PIXELS = 655_360, 8_294_400


def dimensions(ratio: float, long_side: int) -> tuple[int, int]:
    """Width and height for ``ratio`` (w/h) with the longer side ``long_side``."""
    if ratio >= 1:
        return long_side, max(1, round(long_side / ratio))
    return max(1, round(long_side * ratio)), long_side


def parse_wxh(size: str) -> tuple[int, int] | None:
    """``"1536x864"`` -> (1536, 864); None unless two positive integers."""
    w, sep, h = size.partition("x")
    if not (sep and w.isdigit() and h.isdigit() and int(w) and int(h)):
        return None
    return int(w), int(h)


def pixel_size_problem(size: str) -> str | None:
    """Why ``size`` is not a valid GPT Image 2.x size (None: it is)."""
    if size == "auto" or size in CLASSIC_SIZES:
        return None
    wh = parse_wxh(size)
    if wh is None:
        return "Use 'auto' or WIDTHxHEIGHT."
    (w, h), step = wh, PIXEL_STEP
    if w % step or h % step:
        return f"Width and height must both be divisible by {step}."
    if max(w, h) > MAX_PIXEL_RATIO * min(w, h):
        return "The aspect ratio must be between 1:3 and 3:1."
    if max(w, h) > MAX_EDGE:
        return f"The longest edge must be at most {MAX_EDGE} pixels."
    if not MIN_PIXELS <= w * h <= MAX_PIXELS:
        return f"The total pixel count must be between {MIN_PIXELS:,} and {MAX_PIXELS:,}."
    return None


def scaled(width: int, height: int, image_px: int) -> tuple[int, int]:
    """A ``width`` x ``height`` request drawn at the sandbox's scale (1024 -> ``image_px``)."""
    factor = image_px / 1024
    return max(1, round(width * factor)), max(1, round(height * factor))


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # Pillow without FreeType
        return ImageFont.load_default()


def render(
    prompt: str, model: str, counter: int, width: int, height: int, fmt: str = "png"
) -> bytes:
    """One image in ``fmt`` ("png", "jpeg", "webp") showing what was asked of whom."""
    digest = hashlib.sha256(f"{model}\n{prompt}".encode()).digest()
    bg = (digest[0] // 2 + 40, digest[1] // 2 + 40, digest[2] // 2 + 40)
    accent = (255 - bg[0], 255 - bg[1], 255 - bg[2])
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    draw.rectangle((0, 0, width - 1, height - 1), outline=accent, width=max(1, short // 64))
    draw.line((0, height, width, 0), fill=accent, width=max(1, short // 32))
    font_px = max(8, short // 14)
    font = _font(font_px)
    columns = max(8, int(width / (font_px * 0.6)))
    lines = textwrap.wrap(prompt, columns)[: max(1, height // (font_px + 4) - 3)] or ["(no prompt)"]
    text = "\n".join([*lines, "", model, f"#{counter}"])
    draw.multiline_text((short // 20, short // 20), text, font=font, fill=(255, 255, 255))
    buffer = io.BytesIO()
    pil_format = FORMATS.get(fmt, FORMATS["png"])[0]
    if pil_format == "PNG":
        image.save(buffer, pil_format, compress_level=1)
    else:
        image.save(buffer, pil_format, quality=80)
    return buffer.getvalue()


async def render_async(
    prompt: str, model: str, counter: int, width: int, height: int, fmt: str = "png"
) -> bytes:
    if width * height <= _THREAD_PIXELS:
        return render(prompt, model, counter, width, height, fmt)
    return await asyncio.to_thread(render, prompt, model, counter, width, height, fmt)


@lru_cache(maxsize=2)
def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid 1-bit PNG of ``width`` x ``height`` black pixels: ~109 KB on disk for
    30000 x 30000, 900 million pixels once decoded (a decompression bomb). Written by
    hand, row by row, so making it never holds the pixels."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte "none", then the bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@lru_cache(maxsize=2)
def noise_png(side: int = 1024) -> bytes:
    """A ``side`` x ``side`` PNG of random pixels, stored uncompressed: about 3 MB at
    1024 — a real image that is simply big."""
    pixels = random.Random(side).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


async def image_for(
    kind: str, prompt: str, model: str, counter: int, width: int, height: int, fmt: str = "png"
) -> bytes:
    """The image a model answers with under fault ``kind`` (a faulty one, or the usual)."""
    if kind == "bomb_image":
        return await asyncio.to_thread(bomb_png)
    if kind in ("oversize_image", "oversize_chunked"):
        return await asyncio.to_thread(noise_png)
    image = await render_async(prompt, model, counter, width, height, fmt)
    return truncated(image) if kind == "truncated_image" else image


def truncated(image: bytes) -> bytes:
    """The first half of an image: its header is intact, its pixels are cut short."""
    return image[: max(64, len(image) // 2)]


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
