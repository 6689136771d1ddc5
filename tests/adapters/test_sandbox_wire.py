"""The sandbox as a plain HTTP server: what hand-written clients and operators see."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from adapters.providers import GeminiProvider
from adapters.sandbox import Fault, Sandbox
from bot.catalog import ModelSpec
from bot.domain import GenerationRequest
from bot.errors import ProviderOverloaded, ProviderServerError
from tests.adapters.helpers import API_KEY, eventually, image_size, png

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"x-goog-api-key": API_KEY}


def _body(data: str, *, camel: bool) -> dict[str, object]:
    blob = (
        {"mimeType": "image/png", "data": data}
        if camel
        else {"mime_type": "image/png", "data": data}
    )
    part = {"inlineData": blob} if camel else {"inline_data": blob}
    return {"contents": [{"role": "user", "parts": [{"text": "edit"}, part]}]}


async def test_both_spellings_and_both_base64_alphabets_decode_the_same(sandbox: Sandbox) -> None:
    raw = png() + b"\xfb\xff\xfe"  # bytes whose base64 differs between the alphabets
    std, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    assert std != url
    sandbox.offer("m", "gemini")  # not in the catalogue: offered for this test
    address = f"{sandbox.gemini_base_url}/v1/models/m:generateContent"
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        for data, camel in ((std, True), (url, False), (url.rstrip("="), True)):
            async with session.post(address, json=_body(data, camel=camel)) as resp:
                assert resp.status == 200
    assert [c.images for c in sandbox.calls] == [[(raw, "image/png")]] * 3


async def test_bad_requests_get_google_shaped_400s(sandbox: Sandbox) -> None:
    address = f"{sandbox.gemini_base_url}/v1beta/models/m:generateContent"
    bad_ratio = {
        "contents": [{"parts": [{"text": "x"}]}],
        "generationConfig": {"imageConfig": {"aspectRatio": "7:5"}},
    }
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        for body in ({}, _body("%%%", camel=True), bad_ratio):
            async with session.post(address, json=body) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("kind", ["chunked", "oversize_chunked"])
async def test_chunked_kinds_answer_chunked_with_no_length(sandbox: Sandbox, kind: str) -> None:
    sandbox.offer("m", "gemini")
    sandbox.script("m", [Fault(kind)])
    address = f"{sandbox.gemini_base_url}/v1beta/models/m:generateContent"
    async with (
        aiohttp.ClientSession(headers=HEADERS) as session,
        session.post(address, json={"contents": [{"parts": [{"text": "x"}]}]}) as resp,
    ):
        assert resp.status == 200 and resp.content_length is None
        assert resp.headers["Transfer-Encoding"] == "chunked"
        answer = await resp.json()
    data = answer["candidates"][0]["content"]["parts"][-1]["inlineData"]["data"]
    assert image_size(base64.b64decode(data)) == ((1024, 1024) if kind != "chunked" else (64, 64))


async def test_openai_edit_without_mime_type_is_refused_like_openai(sandbox: Sandbox) -> None:
    form = aiohttp.FormData()
    form.add_field("prompt", "x")
    form.add_field("image[]", png(), filename="a.png", content_type="application/octet-stream")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(f"{sandbox.openai_base_url}/images/edits", data=form) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "unsupported_file_mimetype"


async def test_requests_are_served_concurrently(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    sandbox.set_latency(gemini_model.id, 0.3)
    started = time.monotonic()
    async with asyncio.TaskGroup() as tg:
        for i in range(30):
            tg.create_task(gemini.generate(model=gemini_model, request=GenerationRequest(f"#{i}")))
    assert time.monotonic() - started < 2.0
    assert len(sandbox.calls) == 30 and {c.outcome for c in sandbox.calls} == {"ok"}
    assert all(c.finished is not None and c.finished - c.started >= 0.29 for c in sandbox.calls)


async def test_reset_forgets_calls_and_scripts(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    sandbox.script(gemini_model.id, [Fault("overloaded")])
    with pytest.raises(ProviderOverloaded):
        await gemini.generate(model=gemini_model, request=GenerationRequest("x"))
    sandbox.reset()
    assert sandbox.calls == [] and sandbox.active_faults(gemini_model.id) == []
    await gemini.generate(model=gemini_model, request=GenerationRequest("x"))


async def test_shutdown_drops_a_hanging_client_promptly() -> None:
    sb = await Sandbox().start()
    sb.offer("m", "gemini")
    sb.script("m", [Fault("hang")])
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        address = f"{sb.gemini_base_url}/v1beta/models/m:generateContent"
        pending = asyncio.create_task(session.post(address, json=_body("", camel=True)))
        await eventually(lambda: sb.calls)
        started = time.monotonic()
        await sb.stop()
        assert time.monotonic() - started < 1.0
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await pending
    assert sb.calls[0].outcome == "hang" and sb.calls[0].finished is not None


def test_standalone_entry_point_serves_until_sigterm(
    tmp_path: Path, gemini_model: ModelSpec
) -> None:
    script = tmp_path / "faults.toml"
    script.write_text(
        f'[models."{gemini_model.id}"]\n'
        "latency = 0.05\n"
        'faults = [{ kind = "overloaded", first_n = 1 }]\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "adapters.sandbox", "--port", "0", "--script", str(script)]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(2))
        assert urls["openai_base_url"] == urls["gemini_base_url"] + "/v1"
        asyncio.run(_drive(urls["gemini_base_url"], gemini_model))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "sandbox stopped" in out


async def _drive(base_url: str, model: ModelSpec) -> None:
    provider = GeminiProvider("google", api_key=API_KEY, base_url=base_url)
    try:
        with pytest.raises(ProviderOverloaded):  # from the TOML script
            await provider.generate(model=model, request=GenerationRequest("x"))
        image = await provider.generate(model=model, request=GenerationRequest("x"))
        assert image_size(image.data) == (256, 256)
        async with aiohttp.ClientSession(base_url=base_url) as session:
            rule = {"model": model.id, "faults": [{"kind": "server_error"}]}
            async with session.post("/_sandbox/script", json=rule) as resp:
                assert resp.status == 200
            with pytest.raises(ProviderServerError):
                await provider.generate(model=model, request=GenerationRequest("x"))
            async with session.get("/_sandbox/calls") as resp:
                calls = await resp.json()
    finally:
        await provider.aclose()
    assert [c["outcome"] for c in calls] == ["overloaded", "ok", "server_error"]
    assert [c["status"] for c in calls] == [503, 200, 500]
    assert calls[0]["model"] == model.id and calls[0]["started"] <= calls[0]["finished"]


async def test_slow_answers_late_but_answers(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    sandbox.set_latency(gemini_model.id, 0.05)
    sandbox.script(gemini_model.id, [Fault("slow", factor=4)])
    image = await gemini.generate(model=gemini_model, request=GenerationRequest("x"))
    (call,) = sandbox.calls
    assert image.data and call.outcome == "slow" and call.status == 200
    assert call.finished is not None and call.finished - call.started >= 0.2


async def test_fault_window_opens_and_closes_on_time(
    gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    sandbox.script(gemini_model.id, [Fault("overloaded", start=0.0, end=0.3)])
    with pytest.raises(ProviderOverloaded):
        await gemini.generate(model=gemini_model, request=GenerationRequest("x"))
    await asyncio.sleep(0.35)
    await gemini.generate(model=gemini_model, request=GenerationRequest("x"))
    down, up = sandbox.calls
    assert sandbox.active_faults(gemini_model.id, at=down.started) == [
        Fault("overloaded", start=0.0, end=0.3)
    ]
    assert sandbox.active_faults(gemini_model.id, at=up.started) == []


async def test_control_endpoint_refuses_a_bad_script(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(base_url=sandbox.base_url) as session:
        bad = {"model": "m", "faults": [{"kind": "meltdown"}]}
        async with session.post("/_sandbox/script", json=bad) as resp:
            assert resp.status == 400
        async with session.post("/_sandbox/latency", json={"model": "m", "seconds": 0.5}) as resp:
            assert resp.status == 200
    assert sandbox.behaviour.base_latency("m") == 0.5
