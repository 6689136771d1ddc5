"""``/status``, ``/status.json`` and ``/status/events`` over HTTP, with a real router
against the sandbox: self-contained, escaped, live, and ended cleanly at shutdown."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.sandbox import Fault
from adapters.status_html import CSP, page
from tests.adapters.status_world import FLASH, PRO, status_world


async def next_event(stream: aiohttp.StreamReader) -> dict[str, Any]:
    """The next ``status`` event's data."""
    event, data = "", ""
    while True:
        line = (await stream.readline()).decode()
        if line == "":
            raise EOFError("the stream ended")
        line = line.rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and event == "status":
            return dict(json.loads(data))
        elif line == "":
            event, data = "", ""


async def test_page_is_self_contained_with_every_model(tmp_path: Path, monkeypatch) -> None:
    async with status_world(tmp_path, monkeypatch) as w, aiohttp.ClientSession() as http:
        async with http.get(f"{w.base}/status") as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
            assert resp.headers["Content-Security-Policy"] == CSP
            html = await resp.text()
    assert "default-src 'none'" in CSP and "connect-src 'self'" in CSP
    fetched = re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"' >]*)""", html)
    assert fetched == ["data:,"]  # nothing fetched: no script, style, font or image
    assert "@import" not in html and "url(" not in html
    for model in (PRO, FLASH):
        assert f'data-model="{model}"' in html
    assert "🟢" in html and f"Primary: {PRO}" in html and "online 3/3" in html


def test_server_render_escapes_everything() -> None:
    evil = '<img src=x onerror="alert(1)">'
    row = {"label": evil, "state": "down", "emoji": "🔴", "p50": evil, "success": "1 %",
           "since": "down for 1 min", "reason": evil, "primary": False, "series": []}  # fmt: skip
    doc = {"primary": evil, "online": 0, "total": 1, "models": [row], "notices": [evil],
           "transitions": [{"at": evil, "kind": "down", "text": evil}]}  # fmt: skip
    html = page(doc)
    assert "<img" not in html and html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 6


async def test_events_push_a_trip_without_asking(tmp_path: Path, monkeypatch) -> None:
    async with status_world(tmp_path, monkeypatch, every_s=30) as w, aiohttp.ClientSession() as h:
        async with h.get(f"{w.base}/status/events") as resp:
            assert resp.headers["Content-Type"] == "text/event-stream"
            first = await next_event(resp.content)
            assert [m["emoji"] for m in first["models"]] == ["🟢", "🟢", "🟢"]
            w.sandbox.script(PRO, [Fault("overloaded")])
            for _ in range(8):
                await w.generate()
                if w.router.board.primary() != PRO:
                    break
            async with asyncio.timeout(5):  # no periodic sample is due: the event pushed it
                while True:
                    doc = await next_event(resp.content)
                    if doc["models"][0]["emoji"] == "🔴":
                        break
        assert doc["primary"] == FLASH and doc["online"] == 2
        said = [t["text"] for t in doc["transitions"]]  # newest first
        assert said[-1].startswith(f"🔴 {PRO} is down — overloaded (503)")
        assert doc["models"][0]["series"][-1][1] == "down"
        async with h.get(f"{w.base}/status.json") as resp:
            assert (await resp.json())["models"][0]["state"] == "down"


async def test_shutdown_ends_open_streams_at_once(tmp_path: Path, monkeypatch) -> None:
    async with aiohttp.ClientSession() as http:
        async with status_world(tmp_path, monkeypatch) as w:
            resp = await http.get(f"{w.base}/status/events")
            await next_event(resp.content)
            streams = [await http.get(f"{w.base}/status/events") for _ in range(2)]
            started = time.monotonic()
        took = time.monotonic() - started
        assert took < 2  # not aiohttp's 5 s shutdown timeout: each stream was told to end
        with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
            while True:
                await next_event(resp.content)
        for r in [resp, *streams]:
            r.release()
