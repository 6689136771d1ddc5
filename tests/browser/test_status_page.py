"""``/status`` in headless Chromium: a real router against the sandbox behind the
real web app. The primary goes down and comes back while the page stays open;
the page follows both without a reload."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox import Fault
from bot.health import HealthState
from tests.adapters.status_world import FLASH, PRO, StatusWorld, status_world
from tests.browser.conftest import Screenshot

EMOJI = "document.querySelector('[data-model=\"{model}\"] .emoji')?.textContent"


async def shows(page: Any, model: str, emoji: str, within_s: float = 5) -> None:
    await page.wait_for_function(
        f"() => {EMOJI.format(model=model)} === '{emoji}'", timeout=within_s * 1000
    )


async def requests_until(w: StatusWorld, state: HealthState, within_s: float = 8) -> None:
    """Requests, one every 0.2 s, until the primary's route is in ``state``."""
    async with asyncio.timeout(within_s):
        while w.router.board[PRO].state() is not state:
            await w.generate()
            await asyncio.sleep(0.2)


async def test_down_and_recovered_without_a_reload(
    browser: Any,
    screenshot: Screenshot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with status_world(tmp_path, monkeypatch) as w:
        page = await browser.new_page(viewport={"width": 1000, "height": 700})
        loads: list[str] = []
        page.on("framenavigated", lambda f: loads.append(f.url) if f == page.main_frame else None)
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await page.goto(f"{w.base}/status")
        await page.wait_for_function("() => document.getElementById('live').textContent === 'live'")
        await page.evaluate("() => { window.sameDocument = true; }")
        for _ in range(3):
            await w.generate()
        await shows(page, PRO, "🟢")
        await screenshot(page, "1-healthy")

        w.sandbox.script(PRO, [Fault("overloaded")])
        await requests_until(w, HealthState.DOWN)
        await shows(page, PRO, "🔴")
        card = page.locator(f'[data-model="{PRO}"]')
        assert "overloaded (503)" in await card.inner_text()
        assert f"Primary: {FLASH}" in await page.inner_text("#summary")
        assert "online 2/3" in await page.inner_text("#summary")
        assert f"{PRO} is down" in await page.inner_text("#transitions")
        await screenshot(page, "2-down")

        w.sandbox.script(PRO, [])  # the outage ends; the breaker's probe brings it back
        await requests_until(w, HealthState.NORMAL)
        await shows(page, PRO, "🟢")
        assert f"Primary: {PRO}" in await page.inner_text("#summary")
        assert f"{PRO} recovered" in await page.inner_text("#transitions")
        assert await page.locator(f'[data-model="{PRO}"] svg rect').count() > 3  # the chart
        await screenshot(page, "3-recovered")

        assert await page.evaluate("() => window.sameDocument") is True  # never reloaded
        assert loads == [f"{w.base}/status"]
        assert problems == []  # no script error, no CSP violation
        await page.close()
