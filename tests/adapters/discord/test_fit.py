"""Images over Discord's upload limit are re-encoded to fit, and say so."""

from __future__ import annotations

import io
import os
import time

import pytest
from PIL import Image

from adapters.discord.fit import MIB, fit_upload


def noise(size: int, mode: str = "RGB") -> Image.Image:
    """Random pixels: as incompressible as an image gets."""
    return Image.frombytes(mode, (size, size), os.urandom(size * size * len(mode)))


def encoded(image: Image.Image, fmt: str = "PNG", **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **({"compress_level": 0} if fmt == "PNG" else {}), **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_large_png_becomes_a_jpeg_under_the_limit_and_says_so() -> None:
    data = encoded(noise(2048))
    assert len(data) > 10 * MIB  # about 12 MB
    fitted = fit_upload(data, "image/png", 10 * MIB)
    assert len(fitted.data) <= 10 * MIB
    assert (fitted.mime_type, fitted.filename_ext) == ("image/jpeg", "jpg")
    image = opened(fitted.data)
    assert (image.format, image.size) == ("JPEG", (2048, 2048))  # quality, not size, gave way
    best = opened(encoded(noise(8), "JPEG", quality=92))  # fits at 92: no lower quality used
    assert image.quantization == best.quantization  # type: ignore[attr-defined]
    full = f"{len(data) / MIB:.1f}".removesuffix(".0")  # "12" or "12.1"
    assert fitted.note == (
        f"The full image ({full} MB) is over Discord's 10 MB upload limit,"
        " so this is a 2048×2048 JPEG."
    )


def test_an_image_within_the_limit_is_sent_as_it_is() -> None:
    data = encoded(noise(64))
    fitted = fit_upload(data, "image/png", len(data))
    assert (fitted.data, fitted.mime_type, fitted.filename_ext, fitted.note) == (
        data,
        "image/png",
        "png",
        None,
    )
    webp = encoded(noise(64), "WEBP")
    assert fit_upload(webp, "image/webp", 10 * MIB).filename_ext == "webp"


def test_transparency_is_put_on_white() -> None:
    image = noise(256, "RGBA")
    image.putalpha(Image.new("L", image.size, 255))
    image.paste((0, 0, 0, 0), (0, 0, 128, 256))  # left half: fully transparent black
    data = encoded(image)
    fitted = fit_upload(data, "image/png", len(data) - 1)
    result = opened(fitted.data)
    assert result.mode == "RGB" and len(fitted.data) < len(data)
    r, g, b = result.getpixel((40, 128))  # type: ignore[misc]
    assert min(r, g, b) >= 245  # white, not the black under the transparency


def test_a_small_limit_shrinks_the_image_until_it_fits() -> None:
    data = encoded(noise(1024))
    fitted = fit_upload(data, "image/png", 100_000)
    image = opened(fitted.data)
    assert len(fitted.data) <= 100_000
    assert image.format == "JPEG" and image.width < 1024 and image.width == image.height
    assert fitted.note is not None
    assert f"so this is a {image.width}×{image.height} JPEG" in fitted.note
    assert "over Discord's 98 KB upload limit" in fitted.note


def test_a_smooth_image_is_stepped_down_by_085_until_it_fits() -> None:
    smooth = noise(64).resize((1024, 1024), Image.Resampling.BICUBIC)  # detail grows as it shrinks
    fitted = fit_upload(encoded(smooth), "image/png", 20_000)
    image = opened(fitted.data)
    assert len(fitted.data) <= 20_000
    steps = [round(1024 * 0.85**k) for k in range(1, 30)]
    assert image.width in steps and image.size == (image.width, image.width)


def test_a_4k_png_fits_within_a_few_seconds() -> None:
    data = encoded(noise(4096))  # about 48 MB
    started = time.perf_counter()
    fitted = fit_upload(data, "image/png", 10 * MIB)
    took = time.perf_counter() - started
    assert len(fitted.data) <= 10 * MIB and opened(fitted.data).format == "JPEG"
    assert took < 5, f"{took:.1f} s"


@pytest.mark.parametrize("mode", ["L", "LA", "P", "CMYK", "I;16"])
def test_other_pixel_modes_are_converted_not_refused(mode: str) -> None:
    image = noise(128).convert(mode) if mode != "I;16" else noise(128, "I;16")
    data = encoded(image, "TIFF")
    fitted = fit_upload(data, "image/tiff", len(data) // 2)
    assert len(fitted.data) <= len(data) // 2 and opened(fitted.data).mode == "RGB"


def test_bytes_that_are_not_an_image_are_refused_with_value_error() -> None:
    with pytest.raises(ValueError):
        fit_upload(b"<html>not an image</html>" * 100, "image/png", 100)
    with pytest.raises(ValueError):
        fit_upload(encoded(noise(64))[:500], "image/png", 100)  # truncated
