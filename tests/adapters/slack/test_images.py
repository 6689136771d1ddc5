"""Slack is handed only PNG, JPEG or GIF: anything else becomes a PNG of the same image."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from adapters.slack.images import for_slack, shown_type


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def picture(mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, (40, 30), (200, 30, 30, 255)[: len(mode)])
    image.paste((30, 30, 200, 100)[: len(mode)], (0, 0, 20, 15))
    return image


@pytest.mark.parametrize(
    ("fmt", "mime", "extension"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("GIF", "image/gif", "gif")],
)
def test_png_jpeg_and_gif_go_as_they_are(fmt: str, mime: str, extension: str) -> None:
    data = encoded(picture(), fmt)
    shown = for_slack(data)
    assert (shown.data, shown.mime_type, shown.extension, shown.converted) == (
        data,
        mime,
        extension,
        False,
    )


def test_a_webp_becomes_a_png_of_the_same_pixels_with_its_transparency() -> None:
    original = picture("RGBA")
    shown = for_slack(encoded(original, "WEBP", lossless=True))
    assert (shown.mime_type, shown.extension, shown.converted) == ("image/png", "png", True)
    image = opened(shown.data)
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (40, 30))
    assert image.tobytes() == original.tobytes()


def test_a_lossy_opaque_webp_becomes_an_rgb_png() -> None:
    shown = for_slack(encoded(picture(), "WEBP", quality=80))
    image = opened(shown.data)
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (40, 30))


def test_the_bytes_decide_not_the_name() -> None:
    webp = encoded(picture(), "WEBP")
    assert shown_type(webp) is None
    assert shown_type(encoded(picture(), "PNG")) == ("image/png", "png")
    assert for_slack(webp).converted  # whatever MIME type a provider claimed for it


def test_an_animated_webp_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    image = opened(for_slack(out.getvalue()).data)
    assert image.getpixel((8, 8)) == (255, 0, 0)


def test_other_formats_are_converted_too() -> None:
    shown = for_slack(encoded(picture(), "BMP"))
    assert shown.converted and opened(shown.data).format == "PNG"


def test_bytes_that_are_no_image_raise() -> None:
    with pytest.raises(ValueError, match="not an image"):
        for_slack(b"RIFF\x00\x00\x00\x00WEBPnonsense")
