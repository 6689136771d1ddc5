"""A Gemini answer is read no further than ``answer_cap``, chunked or not: the real
google-genai and aiohttp against the sandbox on 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse, web

from adapters.imaging import PillowInspector
from adapters.providers import GeminiProvider, _capped
from adapters.providers._common import answer_cap
from adapters.sandbox import Fault, Sandbox
from adapters.sandbox.images import noise_png
from bot.catalog import ModelSpec
from bot.domain import GenerationRequest, ImageLimits
from bot.errors import EmptyResult, ProviderOverloaded, ProviderServerError
from tests.adapters.helpers import API_KEY, image_size

LIMITS = ImageLimits(max_bytes=1024 * 1024, max_pixels=4_000_000)  # the sandbox's ~3 MB is over
CAP = answer_cap(LIMITS)
REQUEST = GenerationRequest(prompt="a lighthouse at dusk")
# what aiohttp may hold beyond the cap: its read buffer's high-water mark (2 x read_bufsize)
# and one socket read (asyncio reads at most 256 KiB at a time)
SLACK = 2 * _capped.READ_CHUNK + 256 * 1024


@pytest.fixture
async def received(monkeypatch: pytest.MonkeyPatch) -> list[ClientResponse]:
    """Every response the capping middleware was handed, as aiohttp received it."""
    seen: list[ClientResponse] = []
    real = _capped.cap_answers

    def spied(cap: int) -> Any:
        capping = real(cap)

        async def middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
            async def spy(req: ClientRequest) -> ClientResponse:
                response = await handler(req)
                seen.append(response)
                return response

            return await capping(request, spy)  # type: ignore[no-any-return]

        return middleware

    monkeypatch.setattr(_capped, "cap_answers", spied)
    return seen


@pytest.fixture
async def capped(sandbox: Sandbox) -> AsyncIterator[GeminiProvider]:
    images = PillowInspector(LIMITS)
    provider = GeminiProvider(
        "google", api_key=API_KEY, base_url=sandbox.gemini_base_url, images=images
    )
    yield provider
    await provider.aclose()


async def test_a_chunked_answer_is_an_image(
    received: list[ClientResponse],
    capped: GeminiProvider,
    sandbox: Sandbox,
    gemini_model: ModelSpec,
) -> None:
    sandbox.script(gemini_model.id, [Fault("chunked")])
    image = await capped.generate(model=gemini_model, request=REQUEST)
    assert image.mime_type == "image/png" and image_size(image.data)[0] > 0
    [response] = received
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.content_length is None
    assert sandbox.calls[0].outcome == "chunked"


async def test_an_oversize_chunked_answer_is_cut_off_at_about_the_cap(
    received: list[ClientResponse],
    capped: GeminiProvider,
    sandbox: Sandbox,
    gemini_model: ModelSpec,
) -> None:
    sandbox.script(gemini_model.id, [Fault("oversize_chunked")])
    sent = len(base64.b64encode(noise_png()))  # the image alone; the answer is longer
    assert sent > CAP + 4 * SLACK  # room to tell "cut off" from "read whole"
    with pytest.raises(EmptyResult) as info:
        await capped.generate(model=gemini_model, request=REQUEST)
    [response] = received
    assert response.content.total_bytes <= CAP + SLACK  # what reached this process
    assert response.content_length is None and response.closed
    assert info.value.model == gemini_model.id and info.value.status == 200
    assert f"is over {CAP}" in str(info.value)  # refused by size, not after decoding
    assert len(sandbox.calls) == 1


async def test_an_error_answer_is_read_no_further_than_the_error_cap(
    received: list[ClientResponse],
    capped: GeminiProvider,
    sandbox: Sandbox,
    gemini_model: ModelSpec,
) -> None:
    """A relay's proxy failing with a ~4 MB page: cut at 256 KB, a server error (the next
    model is tried), never read whole; Google's own errors (small JSON) pass as before."""
    sandbox.script(gemini_model.id, [Fault("oversize_error", first_n=1), Fault("overloaded")])
    with pytest.raises(ProviderServerError) as info:
        await capped.generate(model=gemini_model, request=REQUEST)
    assert "connection failed" in str(info.value) and "(502)" in str(info.value)
    [response] = received
    assert response.content.total_bytes <= _capped.ERROR_CAP + SLACK
    assert response.closed
    with pytest.raises(ProviderOverloaded):  # a real error's JSON still reaches the SDK
        await capped.generate(model=gemini_model, request=REQUEST)


async def test_an_oversize_answer_with_a_length_is_closed_unread(
    received: list[ClientResponse],
    capped: GeminiProvider,
    sandbox: Sandbox,
    gemini_model: ModelSpec,
) -> None:
    sandbox.script(gemini_model.id, [Fault("oversize_image")])
    with pytest.raises(EmptyResult, match=f"is over {CAP}"):
        await capped.generate(model=gemini_model, request=REQUEST)
    [response] = received
    assert response.content_length is not None and response.content_length > CAP
    assert response.content.total_bytes <= SLACK


async def test_aiohttp_returns_the_body_the_middleware_kept(sandbox: Sandbox) -> None:
    """Guards ``_capped.keep_body``, which sets aiohttp's private ``ClientResponse._body``:
    if aiohttp stops returning it, the SDK would read an empty (drained) stream."""
    sandbox.offer("m", "gemini")
    sandbox.script("m", [Fault("oversize_chunked")])  # ~4 MB in 64 KB pieces: within 8 MiB
    address = f"{sandbox.gemini_base_url}/v1beta/models/m:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "a fox"}]}]}
    args = _capped.capped_client_args(8 * 1024 * 1024)
    async with (
        aiohttp.ClientSession(headers={"x-goog-api-key": API_KEY}) as session,
        session.post(address, json=body, **args) as response,
    ):
        assert response.content.at_eof()  # the middleware read it all
        text = await response.text()
        assert await response.read() == text.encode()
        assert await response.json() == json.loads(text)
    assert len(text.encode()) == response.content.total_bytes > 3 * 1024 * 1024
    assert json.loads(text)["candidates"][0]["content"]["parts"]


async def test_a_compressed_answer_is_cut_off_at_the_cap_once_inflated() -> None:
    """``Content-Length`` counts gzip bytes: 200 KB that inflate to 200 MB pass that check,
    and are cut off once more than the cap has been inflated."""
    bomb = gzip.compress(b"0" * (200 * 1024 * 1024))

    async def answer(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=bomb, headers=headers)

    app = web.Application()
    app.router.add_post("/", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    args = _capped.capped_client_args(CAP)
    seen: list[ClientResponse] = []

    async def spy(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        seen.append(await handler(request))
        return seen[-1]

    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(EmptyResult, match=f"is over {CAP}"):
                await session.post(
                    f"http://127.0.0.1:{port}/",
                    **{**args, "middlewares": (*args["middlewares"], spy)},
                )
    finally:
        await runner.cleanup()
    [response] = seen
    assert response.content_length == len(bomb) < CAP
    assert response.content.total_bytes <= CAP + SLACK
