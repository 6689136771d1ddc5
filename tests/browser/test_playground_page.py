"""The playground as a person uses it, in headless Chromium: the bot as ``make run``
starts it with nothing configured (sandbox models in-process), driven through
the page only — /imagine → the image → an edit in its thread → Vary → the fault
panel knocks the primary over → #status announces it → the status page shows 🔴,
then 🟢 once the fault is switched off, without a reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Screenshot
from tests.platforms.playground_bot import embedded_bot

PRO = "gemini-3-pro-image"
EMOJI = "document.querySelector('[data-model=\"{model}\"] .emoji')?.textContent"


async def send(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#send")


async def test_imagine_edit_vary_and_an_outage_seen_in_the_browser(
    browser: Any, screenshot: Screenshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout  # the fixture checked

    async with embedded_bot(tmp_path, monkeypatch) as bot:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await page.goto(bot.base + "/")
        await page.wait_for_selector("#live.ok")
        assert "placeholder images, no spend" in await page.inner_text("#sandbox")

        # /imagine → the image in the channel, its job message showing the model
        await send(page, "/imagine a lighthouse at dusk --ar 16:9")
        await page.locator("#posts img").first.wait_for(timeout=20_000)
        assert "made with gemini-3-pro-image" in await page.inner_text("#posts")
        await screenshot(page, "1-imagine")

        # an edit in the image's thread → a second image there
        await page.click("#posts .open-thread")
        await page.fill("#thread-text", "make it night, with stars")
        await page.click("#thread-send")
        await page.locator("#thread-posts img").nth(1).wait_for(timeout=20_000)
        assert "make it night, with stars" in await page.inner_text("#thread-posts")
        await screenshot(page, "2-edit")

        # Vary → a third version in the thread
        await page.locator("#thread-posts .press-vary").first.click()
        await page.locator("#thread-posts img").nth(2).wait_for(timeout=20_000)
        assert "v3" in await page.inner_text("#thread-posts")
        await screenshot(page, "3-vary")

        # the fault panel makes the primary overloaded; requests fail over, #status is told
        await page.click("#close-thread")
        await page.select_option(f'select[data-model="{PRO}"]', "overloaded")
        for n in range(6):
            await send(page, f"/imagine a red fox, take {n}")
            await (
                page.locator("#posts .post", has_text=f"take {n}")
                .locator("img")
                .wait_for(timeout=20_000)
            )
        assert "Made with backup model" in await page.inner_text("#posts")
        await page.click('#channels li[data-name="status"]')
        await page.locator("#posts .post", has_text=f"{PRO} is down").wait_for(timeout=15_000)
        await screenshot(page, "4-status-channel")

        # the status page: 🔴, then 🟢 after the fault ends — with no reload
        status = await browser.new_page(viewport={"width": 1000, "height": 700})
        loads: list[str] = []
        status.on(
            "framenavigated", lambda f: loads.append(f.url) if f == status.main_frame else None
        )
        await status.goto(bot.base + "/status")
        await status.wait_for_function(f"() => {EMOJI.format(model=PRO)} === '🔴'")
        await screenshot(status, "5-status-down")
        await page.select_option(f'select[data-model="{PRO}"]', "normal")
        green = f"() => {EMOJI.format(model=PRO)} === '🟢'"
        await page.click('#channels li[data-name="general"]')
        for n in range(12):  # once the breaker's open period ends, a probe brings it back
            await send(page, f"/imagine a calm sea, take {n}")
            try:
                await status.wait_for_function(green, timeout=2_500)
                break
            except PlaywrightTimeout:
                continue
        await status.wait_for_function(green, timeout=2_500)
        await screenshot(status, "6-status-recovered")
        assert loads == [bot.base + "/status"]  # one load: the page followed by itself
        assert problems == []  # no script error, no CSP violation on the playground
