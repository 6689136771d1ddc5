"""Pages are tested in headless Chromium from Debian's ``chromium`` package, driven
by Playwright's Python client — no browser is ever downloaded (never run
``playwright install``).

Without ``/usr/bin/chromium`` (or without the ``playwright`` package) the browser
tests are skipped with the reason; with ``CI`` set they fail instead, so CI never
passes by skipping them (``.ci/run`` installs Debian's chromium first).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
Screenshot = Callable[[Any, str], Awaitable[Path]]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def chromium_path() -> Path:
    """``/usr/bin/chromium``, or skip (fail under CI) with what to install."""
    if not CHROMIUM.exists():
        _unavailable("Debian's chromium is not installed: apt-get install chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Any]:
    """Debian's Chromium, headless, under Playwright."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]' (make test does)")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(chromium_path), args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def screenshot(tmp_path: Path) -> Screenshot:
    """``await screenshot(page, "name")`` saves ``<tmp_path>/screenshots/name.png``."""
    folder = tmp_path / "screenshots"

    async def take(page: Any, name: str) -> Path:
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
