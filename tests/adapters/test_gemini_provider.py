"""GeminiProvider against the sandbox through the real google-genai SDK."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time

import pytest
from google import genai
from google.genai import types

from adapters.providers.gemini import GeminiProvider, build_config
from adapters.sandbox import Fault, Sandbox
from bot.catalog import Catalog, ModelSpec
from bot.domain import GenerationRequest, ImageInput
from bot.errors import InvalidRequest, ProviderServerError
from tests.adapters.helpers import API_KEY, closed_port, eventually, image_size, jpeg, png


async def test_makes_a_png_and_sends_the_key(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    image = await gemini.generate(model=gemini_model, request=GenerationRequest(prompt="a red fox"))
    assert image.mime_type == "image/png"
    assert image_size(image.data) == (64, 64)  # square by default
    assert image.text and "a red fox" in image.text
    (call,) = sandbox.calls
    assert call.headers["x-goog-api-key"] == API_KEY
    assert call.path == f"/v1beta/models/{gemini_model.id}:generateContent"
    assert call.prompt == "a red fox"
    assert call.body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]


@pytest.mark.parametrize(
    ("ratio", "size", "expected"),
    [("16:9", "1K", (64, 36)), ("9:16", "2K", (72, 128)), ("21:9", "4K", (256, 110))],
)
async def test_aspect_ratio_and_size_are_honoured(
    ratio: str,
    size: str,
    expected: tuple[int, int],
    gemini: GeminiProvider,
    gemini_model: ModelSpec,
    sandbox: Sandbox,
) -> None:
    request = GenerationRequest(prompt="a wide valley", aspect_ratio=ratio, size=size)
    image = await gemini.generate(model=gemini_model, request=request)
    assert image_size(image.data) == expected
    config = sandbox.calls[0].body["generationConfig"]["imageConfig"]
    assert config == {"aspectRatio": ratio, "imageSize": size}


async def test_unsupported_ratio_becomes_the_nearest_and_size_is_fitted(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    narrow = dataclasses.replace(
        gemini_model, aspect_ratios=("1:1", "3:2", "2:3"), sizes=("1K", "2K")
    )
    request = GenerationRequest(prompt="x", aspect_ratio="16:9", size="4K")
    await gemini.generate(model=narrow, request=request)
    assert sandbox.calls[0].body["generationConfig"]["imageConfig"] == {
        "aspectRatio": "3:2",
        "imageSize": "2K",
    }


async def test_single_size_model_gets_no_image_size(
    gemini: GeminiProvider, catalog: Catalog, sandbox: Sandbox
) -> None:
    flash = catalog.models["gemini-3.1-flash-lite-image"]  # 1K only
    await gemini.generate(model=flash, request=GenerationRequest(prompt="x", size="4K"))
    assert "imageConfig" not in sandbox.calls[0].body["generationConfig"]
    await gemini.generate(model=flash, request=GenerationRequest(prompt="x", aspect_ratio="4:3"))
    assert sandbox.calls[1].body["generationConfig"]["imageConfig"] == {"aspectRatio": "4:3"}


async def test_references_reach_the_server_as_sent(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    refs = (ImageInput(png(), "image/png"), ImageInput(jpeg(), "image/jpeg"))
    request = GenerationRequest(prompt="put the hat on the cat", references=refs)
    image = await gemini.generate(model=gemini_model, request=request)
    (call,) = sandbox.calls
    assert call.images == [(r.data, r.mime_type) for r in refs]
    assert call.prompt == "put the hat on the cat"
    # no aspect ratio asked: the answer follows the first reference's shape (24x16)
    assert image_size(image.data) == (64, 43)


async def test_thought_parts_are_not_the_answer(gemini_model: ModelSpec) -> None:
    async with Sandbox(image_px=64, thoughts=True) as sb:
        provider = GeminiProvider("google", api_key=API_KEY, base_url=sb.gemini_base_url)
        try:
            image = await provider.generate(model=gemini_model, request=GenerationRequest("owl"))
        finally:
            await provider.aclose()
    assert image_size(image.data) == (64, 64)  # not the 32x32 draft
    assert image.text is not None and "Planning" not in image.text
    model_turn = image.turns[1]
    assert [bool(p.get("thought")) for p in model_turn["parts"]] == [True, True, False, False]


async def test_turns_keep_the_thought_signature(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    image = await gemini.generate(model=gemini_model, request=GenerationRequest(prompt="a"))
    user, model_turn = image.turns
    assert user["role"] == "user" and model_turn["role"] == "model"
    json.dumps(image.turns)  # storable as-is
    signed = [p for p in model_turn["parts"] if "thought_signature" in p]
    assert len(signed) == 1
    sent = sandbox.calls[0]
    assert sent.outcome == "ok"
    # the signature the server sent, byte for byte (the SDK stores URL-safe base64)
    expected = base64.b64decode(sandbox.signature(gemini_model.id, 1))
    assert base64.urlsafe_b64decode(signed[0]["thought_signature"]) == expected


async def test_history_from_stored_json_is_byte_identical_to_sdk_chat(
    gemini_model: ModelSpec,
) -> None:
    """Turn 2 built from stored turns sends exactly what ``client.aio.chats`` sends."""
    ref = ImageInput(png(), "image/png")
    first = GenerationRequest(prompt="a cat", aspect_ratio="3:4", references=(ref,))

    async with Sandbox(seed=7, image_px=64, thoughts=True) as ours:
        provider = GeminiProvider("google", api_key=API_KEY, base_url=ours.gemini_base_url)
        try:
            image = await provider.generate(model=gemini_model, request=first)
            stored = json.loads(json.dumps(list(image.turns)))  # as a database would keep it
            second = dataclasses.replace(
                first, prompt="now in blue", references=(), history=tuple(stored)
            )
            await provider.generate(model=gemini_model, request=second)
        finally:
            await provider.aclose()
        our_body = ours.calls[1].body

    async with Sandbox(seed=7, image_px=64, thoughts=True) as theirs:
        options = types.HttpOptions(base_url=theirs.gemini_base_url, api_version="v1beta")
        client = genai.Client(api_key=API_KEY, http_options=options)
        try:
            chat = client.aio.chats.create(
                model=gemini_model.id, config=build_config(gemini_model, first)
            )
            await chat.send_message(
                [
                    types.Part.from_text(text="a cat"),
                    types.Part.from_bytes(data=ref.data, mime_type=ref.mime_type),
                ]
            )
            await chat.send_message("now in blue")
        finally:
            await client.aio.aclose()
            client.close()
        sdk_body = theirs.calls[1].body

    assert our_body == sdk_body
    assert len(our_body["contents"]) == 3
    sent_back = our_body["contents"][1]["parts"][-1]["thoughtSignature"]
    assert base64.urlsafe_b64decode(sent_back) == base64.b64decode(
        ours.signature(gemini_model.id, 1)
    )


async def test_history_that_is_not_gemini_content_is_an_invalid_request(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    request = GenerationRequest(prompt="x", history=({"role": "user", "bogus": 1},))
    with pytest.raises(InvalidRequest):
        await gemini.generate(model=gemini_model, request=request)
    assert sandbox.calls == []


async def test_connection_refused_is_one_quick_server_error(gemini_model: ModelSpec) -> None:
    provider = GeminiProvider(
        "google", api_key=API_KEY, base_url=f"http://127.0.0.1:{closed_port()}"
    )
    started = time.monotonic()
    try:
        with pytest.raises(ProviderServerError) as info:
            await provider.generate(model=gemini_model, request=GenerationRequest("x"))
    finally:
        await provider.aclose()
    # the SDK's hidden aiohttp reconnect would sleep 1-10 s first
    assert time.monotonic() - started < 0.9
    assert API_KEY not in str(info.value)


async def test_hang_is_cut_by_the_callers_timeout_and_the_sandbox_stops_cleanly(
    gemini_model: ModelSpec,
) -> None:
    sb = await Sandbox(image_px=64).start()
    provider = GeminiProvider("google", api_key=API_KEY, base_url=sb.gemini_base_url)
    sb.script(gemini_model.id, [Fault("hang")])
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await provider.generate(model=gemini_model, request=GenerationRequest("x"))
    assert time.monotonic() - started < 1.0
    await provider.aclose()
    await eventually(lambda: sb.calls[0].finished is not None)  # the server saw the client leave
    assert sb.calls[0].outcome == "hang" and sb.calls[0].status is None
    assert sb.calls[0].finished is not None
    stopping = time.monotonic()
    await sb.stop()
    assert time.monotonic() - stopping < 1.0
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_vertex_paths(gemini_model: ModelSpec, sandbox: Sandbox) -> None:
    regional = GeminiProvider(
        "vertex",
        api_key=API_KEY,
        base_url=sandbox.gemini_base_url,
        vertex=True,
        project="proj-1",
        location="us-central1",
    )
    express = GeminiProvider(
        "vertex", api_key=API_KEY, base_url=sandbox.gemini_base_url, vertex=True
    )
    try:
        await regional.generate(model=gemini_model, request=GenerationRequest("x"))
        await express.generate(model=gemini_model, request=GenerationRequest("x"))
    finally:
        await regional.aclose()
        await express.aclose()
    assert [c.path for c in sandbox.calls] == [
        "/v1beta1/projects/proj-1/locations/us-central1/publishers/google/models/"
        f"{gemini_model.id}:generateContent",
        f"/v1beta1/publishers/google/models/{gemini_model.id}:generateContent",
    ]
    assert all(c.status == 200 for c in sandbox.calls)
