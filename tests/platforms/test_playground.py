"""The playground beyond the contract suite: uploads within the chat platforms'
limits, private answers, admins, where the playground runs, and the embedded
sandbox with its fault panel — the whole bot (``serve``) over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.platforms import chosen_platforms
from adapters.sandbox.images import bomb_png, truncated
from bot.config import Settings
from bot.errors import ConfigError
from bot.validate import MAX_REFERENCE_BYTES
from tests.adapters.helpers import png
from tests.platforms.playground_bot import (
    ADMIN,
    CHANNEL,
    STATUS,
    PlaygroundDriver,
    PlaygroundWorld,
    embedded_bot,
    playground_world,
)
from tests.platforms.running_bot import RunningBot
from tests.platforms.slack_bot import FLASH, PRO
from tests.platforms.test_contract import done


async def upload(w: PlaygroundWorld, text: str, files: list[tuple[str, bytes]], **fields: str):
    form = aiohttp.FormData()
    for name, value in {
        "channel": CHANNEL,
        "text": text,
        "key": uuid.uuid4().hex,
        **fields,
    }.items():
        form.add_field(name, value)
    for name, data in files:
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
    assert w._http is not None
    headers = {"X-Playground-User": "user0"}
    async with w._http.post(f"{w.base}/play/say", data=form, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_a_reference_image_goes_to_the_model(tmp_path: Path, monkeypatch) -> None:
    async with playground_world(tmp_path, monkeypatch) as w:
        d = PlaygroundDriver(w)
        _, said = await upload(w, "/imagine this, in watercolour", [("cat.png", png())])
        await done(d, said["job"])
        parts = w.sandbox.calls[-1].body["contents"][-1]["parts"]
        assert any("inlineData" in p for p in parts)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * MAX_REFERENCE_BYTES, "is too large"),
        ("notes.txt", b"just words", "isn't a PNG, JPEG, WebP or GIF"),
        ("half.png", truncated(png(300, 200)), "is damaged or incomplete"),
        ("bomb.png", bomb_png(), "has too many pixels"),  # 109 KB, 30000 × 30000 pixels
    ],
)
async def test_a_bad_upload_is_refused_and_costs_nothing(
    tmp_path: Path, monkeypatch, name: str, data: bytes, words: str
) -> None:
    async with playground_world(tmp_path, monkeypatch) as w:
        _, said = await upload(w, "/imagine a fox", [(name, data)])
        assert said["ok"] is False
        assert words in said["said"] and name in said["said"]
        assert "Traceback" not in said["said"]
        await asyncio.sleep(0.3)
        usage = await w.app.quotas.usage(PlaygroundDriver.workspace) if w.app else None
        assert w.sandbox.calls == [] and usage is not None and usage.images_today == 0
        assert not PlaygroundDriver(w).roots()  # nothing was posted in the channel


async def test_control_characters_are_neither_shown_nor_sent(tmp_path: Path, monkeypatch) -> None:
    async with playground_world(tmp_path, monkeypatch) as w:
        d = PlaygroundDriver(w)
        sent = await d.imagine("a fox\x1b[2J\x07 in\tthe snow\x00\x7f\nat dusk")
        await done(d, sent.handle)
        clean = "a fox[2J in the snow at dusk"  # the playground's command line is one line
        assert [c.prompt for c in w.sandbox.calls] == [clean]
        text = d.shown(sent.handle).text
        assert clean in text and not any(c in text for c in "\x1b\x07\x00\x7f")


async def test_a_refusal_is_seen_by_the_requester_alone(tmp_path: Path, monkeypatch) -> None:
    async with playground_world(tmp_path, monkeypatch) as w:
        _, said = await w.post("/play/say", "alice", {"channel": CHANNEL, "text": "/imagine"})
        assert "the prompt is empty" in said["said"]
        await asyncio.sleep(0.2)
        assert not [p for p in w.posts.values() if "prompt is empty" in p["text"]]  # watcher


async def test_markup_in_a_prompt_stays_text(tmp_path: Path, monkeypatch) -> None:
    async with playground_world(tmp_path, monkeypatch) as w:
        d = PlaygroundDriver(w)
        sent = await d.imagine("<img src=x onerror=alert(1)> a fox")
        await done(d, sent.handle)
        assert "<img src=x onerror=alert(1)> a fox" in d.shown(sent.handle).text
        assert w._http is not None
        async with w._http.get(f"{w.base}/") as page:
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert "onerror" not in await page.text()


async def test_without_named_admins_anyone_at_the_page_is_one(tmp_path: Path, monkeypatch) -> None:
    async with playground_world(tmp_path, monkeypatch, IMAGINE_ADMIN_USERS="") as w:
        _, said = await w.post(
            "/play/say", "anyone", {"channel": CHANNEL, "text": "/imagine-admin quota daily 7"}
        )
        assert "Daily limit set to 7" in said["said"]
    (tmp_path / "2").mkdir()
    async with playground_world(tmp_path / "2", monkeypatch) as w:
        d = PlaygroundDriver(w)
        assert "Nothing was changed" in await d.admin("quota daily 7", admin=False)
        assert "Daily limit set to 7" in await d.admin("quota daily 7", admin=True)
        assert ADMIN == "admin"


def test_where_the_playground_runs(monkeypatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    alone = chosen_platforms(Settings(_env_file=None))  # type: ignore[call-arg]
    assert alone.playground and alone.slack is None and alone.discord is None
    with pytest.raises(ConfigError, match="IMAGINE_PLAYGROUND"):
        chosen_platforms(Settings(_env_file=None, imagine_playground="off"))  # type: ignore[call-arg]
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 59)
    assert not chosen_platforms(Settings(_env_file=None)).playground  # type: ignore[call-arg]
    assert chosen_platforms(Settings(_env_file=None, imagine_playground="on")).playground  # type: ignore[call-arg]


async def test_with_no_keys_the_sandbox_runs_and_the_fault_panel_drives_it(
    tmp_path: Path, monkeypatch
) -> None:
    async with embedded_bot(tmp_path, monkeypatch) as bot, aiohttp.ClientSession(bot.base) as http:
        info = await (await http.get("/play/info")).json()
        assert info["sandbox"] and info["faults"][PRO] == "normal"
        said = await http.post("/play/fault", json={"model": PRO, "kind": "overloaded"})
        assert (await said.json())["faults"][PRO] == "overloaded"
        bad = await http.post("/play/fault", json={"model": "nope", "kind": "hang"})
        assert bad.status == 400
        for n in range(8):  # until the breaker trips and the outage is announced
            body = {"channel": CHANNEL, "text": f"/imagine fox {n}"}
            job = (await (await http.post("/play/say", json=body)).json())["job"]
            await _finished(bot, job)
        async with asyncio.timeout(10):
            while not any("🔴" in t and PRO in t for t in await _status(http)):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        room = await _room(http)
        made = [p for p in room if p["job"] and p["image"]]
        assert made and all(f"backup model {FLASH}" in " ".join(p["detail"]) for p in made)
        assert any("placeholder images, no spend" in t for t in await _status(http))


async def _finished(bot: RunningBot, job: str) -> None:
    assert bot.app is not None
    async with asyncio.timeout(20):
        while not ((found := await bot.app.service.job(job)) and found.finished):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _room(http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    """The room as a page gets it first."""
    async with http.get("/play/events?user=watcher") as resp:
        async for raw in resp.content:
            line = raw.decode().strip()
            if line.startswith("data: "):
                return list(json.loads(line.removeprefix("data: "))["room"])
    return []


async def _status(http: aiohttp.ClientSession) -> list[str]:
    return [p["text"] for p in await _room(http) if p["channel"] == STATUS]
