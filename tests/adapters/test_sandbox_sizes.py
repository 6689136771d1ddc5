"""The sandbox's GPT Image 2.x sizes (``pixel_sizes`` models): any WxH within OpenAI's
limits is drawn in that shape, anything else is refused as OpenAI refuses it."""

from __future__ import annotations

import base64

import openai
import pytest

from adapters.sandbox import Sandbox
from tests.adapters.helpers import image_size, png

SUNBURST = "gpt-image-2.6-sunburst"


@pytest.mark.parametrize(
    ("size", "drawn"),
    [
        ("auto", (64, 64)),
        ("1024x1024", (64, 64)),
        ("1536x1024", (96, 64)),
        ("1024x1536", (64, 96)),
        ("1536x864", (96, 54)),
        ("3840x2160", (240, 135)),
        ("3840x1280", (240, 80)),  # 3:1 exactly
        ("1024x640", (64, 40)),  # 655,360 pixels exactly
        ("2048x2048", (128, 128)),
    ],
)
async def test_pixel_sizes_draw_the_requested_shape(
    size: str, drawn: tuple[int, int], oai: openai.AsyncOpenAI, sandbox: Sandbox
) -> None:
    result = await oai.images.generate(model=SUNBURST, prompt="a kite", size=size)
    assert result.data and result.data[0].b64_json
    assert image_size(base64.b64decode(result.data[0].b64_json)) == drawn
    assert sandbox.calls[0].outcome == "ok"


@pytest.mark.parametrize(
    ("size", "why"),
    [
        ("1000x1000", "divisible by 16"),
        ("4000x1328", "between 1:3 and 3:1"),
        ("3856x2176", "at most 3840"),
        ("3840x2176", "pixel count"),
        ("512x512", "pixel count"),
        ("256x256", "pixel count"),
        ("1024x624", "pixel count"),
        ("1792x1024x2", "WIDTHxHEIGHT"),
        ("big", "WIDTHxHEIGHT"),
    ],
)
async def test_bad_pixel_sizes_are_refused(
    size: str, why: str, oai: openai.AsyncOpenAI, sandbox: Sandbox
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await oai.images.generate(model=SUNBURST, prompt="x", size=size)
    err = caught.value
    assert err.status_code == 400 and err.code == "invalid_value" and err.param == "size"
    assert why in err.message and size in err.message
    assert isinstance(err.body, dict) and err.body["type"] == "invalid_request_error"
    assert sandbox.calls[0].status == 400


async def test_pixel_sizes_apply_to_edits_and_relays_too(
    oai: openai.AsyncOpenAI, sandbox: Sandbox
) -> None:
    result = await oai.images.edit(
        model="flux-2-pro",
        prompt="x",
        image=("a.png", png(), "image/png"),
        size="1536x864",
        response_format="b64_json",  # relays answer with a url unless asked
    )
    assert result.data and result.data[0].b64_json
    assert image_size(base64.b64decode(result.data[0].b64_json)) == (96, 54)
    with pytest.raises(openai.BadRequestError):
        await oai.images.edit(
            model="seedream-4.5", prompt="x", image=("a.png", png(), "image/png"), size="100x100"
        )


async def test_models_without_pixel_sizes_keep_the_old_size_rules(
    oai: openai.AsyncOpenAI, sandbox: Sandbox
) -> None:
    sandbox.offer("plain-relay", "openai")
    result = await oai.images.generate(
        model="plain-relay",
        prompt="x",
        size="1000x500",
        response_format="b64_json",
    )
    assert result.data and result.data[0].b64_json
    assert image_size(base64.b64decode(result.data[0].b64_json)) == (64, 32)
