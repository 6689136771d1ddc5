"""OpenAIImagesProvider against the sandbox through the real openai SDK."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx2
import openai
import pytest

from adapters.providers.openai_images import (
    OpenAIImagesProvider,
    map_error,
    openai_size,
    pixel_size,
)
from adapters.sandbox import Fault, Sandbox
from bot.catalog import Catalog, ModelSpec
from bot.domain import GenerationRequest, ImageInput
from bot.errors import InvalidRequest, ProviderServerError, ProviderTimeout
from tests.adapters.helpers import API_KEY, closed_port, image_size, jpeg, png


async def test_generate_makes_a_png_with_the_bearer_key(
    openai_images: OpenAIImagesProvider, openai_model: ModelSpec, sandbox: Sandbox
) -> None:
    image = await openai_images.generate(model=openai_model, request=GenerationRequest("a kite"))
    assert image.mime_type == "image/png"
    assert image_size(image.data) == (64, 64)
    assert image.turns == ()
    (call,) = sandbox.calls
    assert call.path == "/v1/images/generations"
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"
    assert call.body == {
        "model": "gpt-image-2.6-sunburst",
        "prompt": "a kite",
        "size": "1024x1024",
        "quality": "medium",
    }


@pytest.mark.parametrize(
    ("ratio", "size", "wire_size", "quality", "shape"),
    [
        ("16:9", "1K", "1536x1024", "medium", (64, 43)),
        ("3:4", "2K", "1024x1536", "high", (43, 64)),
        ("1:1", "4K", "1024x1024", "high", (64, 64)),
    ],
)
async def test_aspect_ratio_and_size_map_to_openai_sizes(
    ratio: str,
    size: str,
    wire_size: str,
    quality: str,
    shape: tuple[int, int],
    openai_images: OpenAIImagesProvider,
    openai_model: ModelSpec,
    sandbox: Sandbox,
) -> None:
    classic = replace(openai_model, pixel_sizes=False)  # the three sizes of GPT Image 1.x
    sandbox.offer(classic.id, "openai", pixel_sizes=False)
    request = GenerationRequest("a harbour", aspect_ratio=ratio, size=size)
    image = await openai_images.generate(model=classic, request=request)
    assert (sandbox.calls[0].body["size"], sandbox.calls[0].body["quality"]) == (wire_size, quality)
    assert image_size(image.data) == shape


@pytest.mark.parametrize(
    ("ratio", "size", "wire_size", "quality"),
    [
        ("16:9", "1K", "1360x768", "medium"),
        ("3:4", "2K", "1760x2352", "high"),
        ("1:1", "4K", "2880x2880", "high"),
        ("21:9", "4K", "3824x1632", "high"),
    ],
)
async def test_gpt_image_2_gets_pixel_sizes_the_sandbox_accepts(
    ratio: str,
    size: str,
    wire_size: str,
    quality: str,
    openai_images: OpenAIImagesProvider,
    openai_model: ModelSpec,
    sandbox: Sandbox,
) -> None:
    request = GenerationRequest("a harbour", aspect_ratio=ratio, size=size)
    image = await openai_images.generate(model=openai_model, request=request)
    assert (sandbox.calls[0].body["size"], sandbox.calls[0].body["quality"]) == (wire_size, quality)
    assert sandbox.calls[0].status == 200
    width, height = image_size(image.data)
    w, h = map(int, wire_size.split("x"))
    assert abs(width / height - w / h) < 0.05  # the shape asked for


def test_pixel_sizes_stay_within_gpt_image_limits() -> None:
    for ratio in ("1:1", "16:9", "9:16", "21:9", "1:8", "8:1", "4:5"):
        for size in ("1K", "2K", "4K"):
            w, h = map(int, pixel_size(ratio, size).split("x"))
            assert w % 16 == 0 and h % 16 == 0 and max(w, h) <= 3840
            assert max(w, h) / min(w, h) <= 3 and 655_360 <= w * h <= 8_294_400


def test_openai_size_is_the_nearest_shape() -> None:
    assert openai_size("1:1") == "1024x1024"
    assert openai_size("5:4") == "1536x1024"
    assert openai_size("9:16") == "1024x1536"
    assert openai_size("nonsense") == "1024x1024"


async def test_references_make_a_multipart_edit(
    openai_images: OpenAIImagesProvider, openai_model: ModelSpec, sandbox: Sandbox
) -> None:
    refs = (ImageInput(png(), "image/png"), ImageInput(jpeg(), "image/jpeg"))
    request = GenerationRequest("add a hat", aspect_ratio="2:3", references=refs)
    classic = replace(openai_model, pixel_sizes=False)
    sandbox.offer(classic.id, "openai", pixel_sizes=False)
    image = await openai_images.generate(model=classic, request=request)
    assert image_size(image.data) == (43, 64)
    (call,) = sandbox.calls
    assert call.path == "/v1/images/edits"
    assert call.headers["Content-Type"].startswith("multipart/form-data")
    assert call.images == [(r.data, r.mime_type) for r in refs]
    assert [f["filename"] for f in call.body["image[]"]] == ["image-1.png", "image-2.jpg"]
    assert "image" not in call.body  # always the repeated image[] form, even for one image
    assert (call.body["prompt"], call.body["size"]) == ("add a hat", "1024x1536")


async def test_single_reference_still_uses_image_brackets(
    openai_images: OpenAIImagesProvider, openai_model: ModelSpec, sandbox: Sandbox
) -> None:
    request = GenerationRequest("x", references=(ImageInput(png(), "image/png"),))
    await openai_images.generate(model=openai_model, request=request)
    assert len(sandbox.calls[0].body["image[]"]) == 1


async def test_relay_models_ask_for_base64(
    openai_images: OpenAIImagesProvider, catalog: Catalog, sandbox: Sandbox
) -> None:
    relay = catalog.models["seedream-4.5"]
    image = await openai_images.generate(model=relay, request=GenerationRequest("a fern"))
    assert image.mime_type == "image/png"
    assert sandbox.calls[0].body["response_format"] == "b64_json"
    assert sandbox.calls[0].body["model"] == "seedream-4.5"


async def test_connection_refused_is_a_server_error(openai_model: ModelSpec) -> None:
    provider = OpenAIImagesProvider(
        "openai", api_key=API_KEY, base_url=f"http://127.0.0.1:{closed_port()}/v1"
    )
    try:
        with pytest.raises(ProviderServerError) as info:
            await provider.generate(model=openai_model, request=GenerationRequest("x"))
    finally:
        await provider.aclose()
    assert API_KEY not in str(info.value)


async def test_hang_is_cut_by_the_callers_timeout(
    openai_images: OpenAIImagesProvider, openai_model: ModelSpec, sandbox: Sandbox
) -> None:
    sandbox.script(openai_model.id, [Fault("hang")])
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await openai_images.generate(model=openai_model, request=GenerationRequest("x"))
    assert time.monotonic() - started < 1.0
    assert len(sandbox.calls) == 1


def _status_error(status: int, body: dict[str, object], **headers: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://relay.invalid/v1/images/generations")
    response = httpx2.Response(status, json=body, headers=headers, request=request)
    error = body.get("error")
    return openai.APIStatusError(f"Error code: {status} - {body}", response=response, body=error)


def test_sdk_timeout_is_a_provider_timeout() -> None:
    request = httpx2.Request("POST", "http://relay.invalid/v1/images/generations")
    mapped = map_error(openai.APITimeoutError(request), "gpt-image-2.6-sunburst")
    assert isinstance(mapped, ProviderTimeout)


def test_relay_that_echoes_the_key_is_redacted() -> None:
    body = {"error": {"message": f"bad key {API_KEY}", "type": "invalid_request_error"}}
    mapped = map_error(_status_error(422, body), "flux-2-pro", (API_KEY,))
    assert isinstance(mapped, InvalidRequest)
    assert API_KEY not in str(mapped) and "[redacted]" in str(mapped)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
        ({}, None),
    ],
)
def test_retry_after_headers(headers: dict[str, str], seconds: float | None) -> None:
    body = {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}
    mapped = map_error(_status_error(429, body, **headers), "gpt-image-2.6-sunburst")
    assert getattr(mapped, "retry_after", "missing") == seconds
