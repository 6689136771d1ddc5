"""A thread resumed from SQLite by another process sends Gemini exactly what an
uninterrupted session sends: compared at the sandbox's wire, through the real SDK."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from google.genai import types

from adapters.providers import GeminiProvider
from adapters.sandbox import Sandbox
from adapters.sandbox.gemini import decode_b64
from bot.catalog import load_catalog
from bot.domain import GenerationRequest, ImageInput, ProviderImage
from bot.sessions import SessionStore
from bot.store import Store
from tests.adapters.helpers import API_KEY, png
from tests.integration.resume_turn import KEY

ROOT = Path(__file__).resolve().parents[2]
PRO, GPT = "gemini-3-pro-image", "gpt-image-2.6-sunburst"
FIRST = GenerationRequest("a cat", aspect_ratio="3:4", references=(ImageInput(png(), "image/png"),))
SECOND = "now in blue"


async def generate(sb: Sandbox, request: GenerationRequest) -> ProviderImage:
    provider = GeminiProvider("google", api_key=API_KEY, base_url=sb.gemini_base_url)
    try:
        return await provider.generate(model=load_catalog().models[PRO], request=request)
    finally:
        await provider.aclose()


def images(body: dict[str, Any]) -> list[bytes]:
    return [
        decode_b64(part["inlineData"]["data"])
        for content in body["contents"]
        for part in content["parts"]
        if "inlineData" in part
    ]


async def test_resume_in_a_new_process_sends_byte_identical_contents(tmp_path: Path) -> None:
    async with Sandbox(seed=7, image_px=64, thoughts=True) as sb:  # uninterrupted, in memory
        one = await generate(sb, FIRST)
        second = dataclasses.replace(FIRST, prompt=SECOND, references=(), history=one.turns)
        await generate(sb, second)
        uninterrupted = sb.calls[1].body

    url = f"sqlite:///{tmp_path}/imagine.db"
    async with Sandbox(seed=7, image_px=64, thoughts=True) as sb:  # saved, then resumed
        one = await generate(sb, FIRST)
        async with await Store.open(url) as store:
            await SessionStore(store).append(
                KEY,
                model=PRO,
                config={"aspect_ratio": "3:4"},
                turns=one.turns,
                image=(one.data, one.mime_type),
            )
        args = (url, sb.gemini_base_url, PRO, SECOND)
        child = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tests.integration.resume_turn", *args),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(child.communicate(), timeout=30)
        assert child.returncode == 0, err.decode()
        assert out.decode().strip() == "OK v2"
        assert len(sb.calls) == 2 and sb.calls[1].outcome == "ok"
        resumed = sb.calls[1].body

    assert resumed == uninterrupted
    assert json.dumps(resumed) == json.dumps(uninterrupted)  # key order too
    sent = images(resumed)
    assert sent == images(uninterrupted)
    assert len(sent) == 3 and sent[0] == png() and sent[2] == one.data  # ref, draft, answer
    assert [c["role"] for c in resumed["contents"]] == ["user", "model", "user"]
    signature = resumed["contents"][1]["parts"][-1]["thoughtSignature"]
    assert base64.urlsafe_b64decode(signature) == base64.b64decode(sb.signature(PRO, 1))

    async with await Store.open(url) as store:  # the child saved its turn too
        session = await SessionStore(store).load(KEY)
    assert session is not None and [v.n for v in session.versions] == [1, 2]
    assert len(session.history) == 4 and session.history[:2] == one.turns


async def test_stored_images_come_back_in_the_sdks_own_form(tmp_path: Path) -> None:
    data = bytes(range(256)) * 3 + b"\xfb\xff"  # base64 with '-', '_' and padding
    content = types.Content(
        role="user",
        parts=[
            types.Part.from_text(text="x"),
            types.Part.from_bytes(data=data, mime_type="image/png"),
        ],
    )
    dumped = content.model_dump(mode="json", exclude_none=True)
    model = {"role": "model", "parts": [{"text": "ok", "thought_signature": "c2ln"}]}
    async with await Store.open(f"sqlite:///{tmp_path}/s.db") as store:
        sessions = SessionStore(store)
        await sessions.append(KEY, model=PRO, config={}, turns=(dumped, model), image=(data, "p"))
        session = await sessions.load(KEY)
    assert session is not None
    assert json.dumps(session.history[0]) == json.dumps(dumped)
    again = types.Content.model_validate(session.history[0])
    assert again.parts is not None and again.parts[1].inline_data is not None
    assert again.parts[1].inline_data.data == data


async def test_a_backup_image_reaches_gemini_inside_the_next_user_turn(tmp_path: Path) -> None:
    backup = png(30, 20, (10, 200, 10))
    async with Sandbox(seed=1, image_px=64, thoughts=True) as sb:
        async with await Store.open(f"sqlite:///{tmp_path}/s.db") as store:
            sessions = SessionStore(store)
            one = await generate(sb, GenerationRequest("a cat"))
            await sessions.append(
                KEY, model=PRO, config={}, turns=one.turns, image=(one.data, one.mime_type)
            )
            await sessions.add_foreign_image(
                KEY, model=GPT, image=(backup, "image/png"), prompt="hat"
            )
            session = await sessions.load(KEY)
            assert session is not None
            two = await generate(sb, session.next_request(prompt="now in blue"))
            result = await sessions.append(
                KEY, model=PRO, config={}, turns=two.turns, image=(two.data, two.mime_type)
            )
            assert result.version == 3
        body = sb.calls[1].body
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]  # alternating
    assert sb.calls[1].images == [(backup, "image/png")]  # in the new user turn
    assert sb.calls[1].prompt.startswith(f"Image v2, made by {GPT} from the prompt: hat")
    assert sb.calls[1].prompt.endswith("now in blue")
